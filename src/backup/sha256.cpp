#include "backup/sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace teamreg::backup {

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->md = EVP_MD_CTX_new();
  if (context_->md == nullptr || EVP_DigestInit_ex(context_->md, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(context_->md);
    throw std::runtime_error("SHA-256 is unavailable");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(context_->md);
}

void Sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(context_->md, bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("SHA-256 update failed");
  }
}

std::string Sha256::hex_digest() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->md, digest.data(), &length) != 1) {
    throw std::runtime_error("SHA-256 final failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0x0F]);
  }
  return hex;
}

void read_in_chunks(const std::filesystem::path& path,
                    const std::function<void(std::string_view)>& chunk) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::array<char, 64 * 1024> buffer{};
  try {
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int error_number = errno;
        throw std::runtime_error("cannot read " + path.string() + ": " +
                                 std::strerror(error_number));
      }
      if (n == 0) break;
      chunk({buffer.data(), static_cast<std::size_t>(n)});
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

FileDigest digest_file(const std::filesystem::path& path) {
  Sha256 hasher;
  FileDigest result;
  read_in_chunks(path, [&](std::string_view bytes) {
    hasher.update(bytes);
    result.size_bytes += bytes.size();
  });
  result.sha256 = hasher.hex_digest();
  return result;
}

}  // namespace teamreg::backup
