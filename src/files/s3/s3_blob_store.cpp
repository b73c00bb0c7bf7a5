#include "files/s3/s3_blob_store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "core/uuid.hpp"

namespace teamreg::files {
namespace {

/// The size of one ranged GET: what a download holds in memory at once.
constexpr std::uint64_t kReadChunkBytes = 1 << 20;
/// A server that ignores Range sends the whole object; documents are far smaller than this.
constexpr std::size_t kMaxWholeObjectBytes = 64 << 20;
constexpr std::size_t kHashChunkBytes = 64 * 1024;
constexpr std::string_view kDocuments = "documents/";

/// Closes a descriptor when it goes.
class Fd final {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

BlobError failure(const S3Client& client, std::string_view method, std::string_view object,
                  const S3Reply& reply) {
  // 4xx needs an operator (credentials, bucket, policy); anything else may pass by itself.
  const auto kind = reply.status >= 400 && reply.status < 500 && reply.status != 408
                        ? BlobError::Kind::kRefused
                        : BlobError::Kind::kUnavailable;
  return BlobError(kind, client.describe(method, object, reply));
}

std::string hex(const unsigned char* bytes, std::size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes, size);
  out.pop_back();
  return out;
}

std::size_t pread_fully(int fd, std::uint64_t offset, char* buffer, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, buffer + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw BlobError(BlobError::Kind::kUnavailable,
                      std::string("read staged document: ") + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

std::string sha256_of_file(int fd, std::uint64_t size) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  std::array<char, kHashChunkBytes> buffer{};
  std::uint64_t offset = 0;
  while (offset < size) {
    const std::size_t n = pread_fully(fd, offset, buffer.data(), buffer.size());
    if (n == 0) break;
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(buffer.data()), n);
    offset += n;
  }
  if (offset != size) {
    throw BlobError(BlobError::Kind::kUnavailable, "staged document shrank while being read");
  }
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(&state, digest.data());
  return hex(digest.data(), digest.size());
}

std::string sha256_of(std::string_view bytes) {
  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(bytes.data()),
                     bytes.size());
  return hex(digest.data(), digest.size());
}

S3Upload upload_of(std::string_view bytes) {
  return S3Upload{bytes.size(), sha256_of(bytes),
                  [bytes](std::uint64_t offset, char* buffer, std::size_t size) {
                    const auto n = std::min<std::size_t>(size, bytes.size() - offset);
                    std::memcpy(buffer, bytes.data() + offset, n);
                    return n;
                  }};
}

/// "bytes 0-1048575/5242880" → 5242880.
std::optional<std::uint64_t> total_of(std::string_view content_range) {
  const auto slash = content_range.rfind('/');
  if (slash == std::string_view::npos) return std::nullopt;
  std::uint64_t total = 0;
  const std::string_view digits = content_range.substr(slash + 1);
  if (digits.empty()) return std::nullopt;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    total = total * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return total;
}

std::string range_header(std::uint64_t first, std::uint64_t last) {
  return fmt::format("Range: bytes={}-{}", first, last);
}

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& text) {
  std::tm tm{};
  int year = 0;
  int month = 0;
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &year, &month, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  const std::time_t seconds = timegm(&tm);
  if (seconds == -1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

class S3Reader final : public BlobReader {
 public:
  S3Reader(S3Client& client, std::string object, std::uint64_t size, std::string first)
      : client_(client), object_(std::move(object)), size_(size), buffer_(std::move(first)) {
    position_ = buffer_.size();
  }

  std::uint64_t size_bytes() const override { return size_; }

  std::string_view next() override {
    if (!first_served_) {
      first_served_ = true;
      if (!buffer_.empty()) return buffer_;
    }
    if (position_ >= size_) return {};
    const std::uint64_t last = std::min(position_ + kReadChunkBytes, size_) - 1;
    S3Reply reply = client_.send(S3Client::Method::kGet, object_, {},
                                 {range_header(position_, last)}, nullptr, kReadChunkBytes);
    if (reply.status != 206 || reply.body.size() != last - position_ + 1) {
      if (reply.status == 206 || reply.status == 200) reply.body.clear();
      throw failure(client_, "GET", object_, reply);
    }
    position_ = last + 1;
    buffer_ = std::move(reply.body);
    return buffer_;
  }

 private:
  S3Client& client_;
  std::string object_;
  std::uint64_t size_;
  std::string buffer_;
  std::uint64_t position_ = 0;
  bool first_served_ = false;
};

}  // namespace

S3BlobStore::S3BlobStore(S3Config config) : client_(std::move(config)) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium initialisation failed");
}

std::string S3BlobStore::location() const {
  const auto& config = client_.config();
  return config.prefix.empty() ? "s3://" + config.bucket
                               : fmt::format("s3://{}/{}", config.bucket, config.prefix);
}

void S3BlobStore::prepare() {
  if (auto problem = probe()) throw std::runtime_error(*problem);
}

void S3BlobStore::put(const std::filesystem::path& staged, std::string_view key) {
  const Fd fd(::open(staged.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    throw BlobError(BlobError::Kind::kUnavailable,
                    std::string("open staged document: ") + std::strerror(errno));
  }
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0) {
    throw BlobError(BlobError::Kind::kUnavailable,
                    std::string("stat staged document: ") + std::strerror(errno));
  }
  const auto size = static_cast<std::uint64_t>(status.st_size);
  const S3Upload upload{size, sha256_of_file(fd.get(), size),
                        [&fd](std::uint64_t offset, char* buffer, std::size_t n) {
                          return pread_fully(fd.get(), offset, buffer, n);
                        }};
  const std::string object = client_.object_name(std::string(kDocuments) + std::string(key));
  const S3Reply reply = client_.send(S3Client::Method::kPut, object, {},
                                     {"Content-Type: application/octet-stream"}, &upload);
  if (reply.status != 200) throw failure(client_, "PUT", object, reply);
}

std::unique_ptr<BlobReader> S3BlobStore::open(std::string_view key) {
  std::string object = client_.object_name(std::string(kDocuments) + std::string(key));
  S3Reply reply =
      client_.send(S3Client::Method::kGet, object, {}, {range_header(0, kReadChunkBytes - 1)},
                   nullptr, kMaxWholeObjectBytes);
  if (reply.status == 404) return nullptr;
  if (reply.status == 416) {
    // Range not satisfiable from byte 0: the object is empty.
    return std::make_unique<S3Reader>(client_, std::move(object), 0, std::string());
  }
  if (reply.status == 200) {
    const auto size = reply.body.size();
    return std::make_unique<S3Reader>(client_, std::move(object), size, std::move(reply.body));
  }
  const auto total = total_of(reply.content_range);
  if (reply.status != 206 || !total || reply.body.size() > *total) {
    if (reply.status == 206) reply.body.clear();
    throw failure(client_, "GET", object, reply);
  }
  return std::make_unique<S3Reader>(client_, std::move(object), *total, std::move(reply.body));
}

void S3BlobStore::remove(std::string_view key) {
  const std::string object = client_.object_name(std::string(kDocuments) + std::string(key));
  const S3Reply reply = client_.send(S3Client::Method::kDelete, object);
  if (reply.status != 204 && reply.status != 200 && reply.status != 404) {
    throw failure(client_, "DELETE", object, reply);
  }
}

std::vector<BlobEntry> S3BlobStore::list() {
  const std::string prefix = client_.object_name(kDocuments);
  std::vector<BlobEntry> entries;
  std::string token;
  for (;;) {
    // Parameters in sorted order, values encoded: the query is signed as sent.
    std::string query;
    if (!token.empty()) query = "continuation-token=" + s3_encode(token, false) + "&";
    query += "list-type=2&prefix=" + s3_encode(prefix, false);
    const S3Reply reply =
        client_.send(S3Client::Method::kGet, {}, query, {}, nullptr, std::size_t{16} << 20);
    if (reply.status != 200) throw failure(client_, "LIST", prefix, reply);
    std::string_view rest = reply.body;
    for (auto at = rest.find("<Contents>"); at != std::string_view::npos;
         at = rest.find("<Contents>")) {
      const auto end = rest.find("</Contents>", at);
      if (end == std::string_view::npos) break;
      const std::string_view item = rest.substr(at, end - at);
      rest = rest.substr(end);
      const std::string name = s3_xml_text(item, "Key");
      const auto modified = parse_time(s3_xml_text(item, "LastModified"));
      if (!name.starts_with(prefix) || !modified) continue;
      std::string key = name.substr(prefix.size());
      if (key.empty() || key.find('/') != std::string::npos) continue;
      entries.push_back(BlobEntry{std::move(key), *modified});
    }
    token = s3_xml_text(reply.body, "NextContinuationToken");
    if (s3_xml_text(reply.body, "IsTruncated") != "true" || token.empty()) break;
  }
  return entries;
}

std::optional<std::string> S3BlobStore::probe() {
  const std::string object = client_.object_name("probe/" + time_ordered_uuid());
  const std::string bytes = "teamreg write probe " + object;
  const auto advice = [this](const BlobError& e) {
    std::string hint;
    const std::string text = e.what();
    if (text.find("HTTP 403") != std::string::npos || text.find("HTTP 401") != std::string::npos) {
      hint =
          " (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and that "
          "they may write to the bucket)";
    } else if (text.find("NoSuchBucket") != std::string::npos) {
      hint = " (the bucket does not exist; check --blob-store, --s3-endpoint and --s3-path-style)";
    } else if (e.kind() == BlobError::Kind::kUnavailable) {
      hint = " (check --s3-endpoint and that the object store is running)";
    }
    return fmt::format("object store {} is not usable: {}{}", location(), text, hint);
  };
  try {
    const S3Upload upload = upload_of(bytes);
    const S3Reply put = client_.send(S3Client::Method::kPut, object, {}, {}, &upload);
    if (put.status != 200) throw failure(client_, "PUT", object, put);
    const S3Reply got = client_.send(S3Client::Method::kGet, object);
    if (got.status != 200) throw failure(client_, "GET", object, got);
    if (got.body != bytes) {
      return fmt::format("object store {} is not usable: the probe object read back differs",
                         location());
    }
    const S3Reply deleted = client_.send(S3Client::Method::kDelete, object);
    if (deleted.status != 204 && deleted.status != 200) {
      throw failure(client_, "DELETE", object, deleted);
    }
  } catch (const BlobError& e) {
    return advice(e);
  }
  return std::nullopt;
}

}  // namespace teamreg::files
