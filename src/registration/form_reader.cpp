#include "registration/form_reader.hpp"

#include <fmt/format.h>

#include <array>
#include <stdexcept>

#include "files/sniff.hpp"

namespace teamreg {

FormReader::FormReader(files::StagingArea& staging, FormLimits limits)
    : staging_(staging), limits_(limits), digest_(EVP_MD_CTX_new()) {
  if (digest_ == nullptr || EVP_DigestInit_ex(digest_, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("cannot initialise SHA-256");
  }
}

FormReader::~FormReader() {
  EVP_MD_CTX_free(digest_);
}

void FormReader::hash(std::string_view bytes) {
  EVP_DigestUpdate(digest_, bytes.data(), bytes.size());
}

tl::expected<void, Error> FormReader::on_part_begin(const http::PartInfo& part) {
  field_ = part.name;
  kind_ = classify_field(part.name);
  if (kind_ == FieldKind::kUnknown) {
    // Echoed to the client: bounded, and error_body() makes it valid UTF-8.
    const std::string shown = part.name.substr(0, 64);
    return tl::unexpected(validation_error(shown, fmt::format("Unknown field '{}'", shown)));
  }
  if (!seen_.insert(part.name).second) {
    return tl::unexpected(
        validation_error(part.name, fmt::format("Field '{}' was sent more than once", part.name)));
  }
  // Field names are bounded by the multipart parser's header limit, so hashing them is cheap.
  hash(fmt::format("\x1e{}\x1f{}\x1f", part.name, kind_ == FieldKind::kFile ? 'f' : 't'));
  if (kind_ == FieldKind::kFile) {
    auto file = staging_.create();
    if (!file) return tl::unexpected(std::move(file.error()));
    current_file_.emplace(std::move(*file));
  } else {
    current_text_.clear();
  }
  return {};
}

tl::expected<void, Error> FormReader::on_part_data(std::string_view bytes) {
  hash(bytes);
  if (kind_ == FieldKind::kFile) {
    if (current_file_->size_bytes() + bytes.size() > limits_.max_file_bytes) {
      return tl::unexpected(Error{
          ErrorCode::kPayloadTooLarge,
          fmt::format("{} is larger than the maximum of {} bytes", field_, limits_.max_file_bytes),
          field_,
          {}});
    }
    return current_file_->write(bytes);
  }
  total_text_bytes_ += bytes.size();
  if (current_text_.size() + bytes.size() > limits_.max_text_bytes ||
      total_text_bytes_ > limits_.max_total_text_bytes) {
    return tl::unexpected(validation_error(field_, fmt::format("{} is too long", field_)));
  }
  current_text_.append(bytes);
  return {};
}

tl::expected<void, Error> FormReader::on_part_end() {
  if (kind_ != FieldKind::kFile) {
    form_.texts.emplace_back(field_, std::move(current_text_));
    current_text_.clear();
    return {};
  }
  files::StagedFile file = std::move(*current_file_);
  current_file_.reset();
  file.close();
  // A browser sends an empty part for a file input left blank: that document is absent.
  if (file.size_bytes() == 0) return {};
  const auto type = files::sniff_content_type(file.head());
  if (!type) {
    return tl::unexpected(
        validation_error(field_, fmt::format("{} must be a PNG, JPEG or PDF file", field_)));
  }
  form_.files.push_back(StagedDocument{field_, file.key(), std::string(*type), file.size_bytes()});
  files_.push_back(std::move(file));
  return {};
}

std::vector<files::StagedFile> FormReader::take_files() {
  return std::move(files_);
}

std::string FormReader::fingerprint() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(digest_, md.data(), &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

}  // namespace teamreg
