#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "files/staging.hpp"
#include "http/multipart.hpp"
#include "registration/model.hpp"
#include "registration/validation.hpp"

namespace teamreg {

struct FormLimits {
  std::uint64_t max_file_bytes = 5ULL << 20;
  std::size_t max_text_bytes = 1024;  ///< one text field
  std::size_t max_total_text_bytes = 64 * 1024;
};

/// Collects the parts of a registration form as they stream in: text fields into bounded strings,
/// document fields straight into staging files (size and type checked on the way). Also
/// fingerprints the form for Idempotency-Key matching: field names, values and file bytes, but not
/// the multipart boundary, which a browser picks anew for every retry.
class FormReader final : public http::MultipartHandler {
 public:
  FormReader(files::StagingArea& staging, FormLimits limits);
  ~FormReader() override;
  FormReader(const FormReader&) = delete;
  FormReader& operator=(const FormReader&) = delete;

  tl::expected<void, Error> on_part_begin(const http::PartInfo& part) override;
  tl::expected<void, Error> on_part_data(std::string_view bytes) override;
  tl::expected<void, Error> on_part_end() override;

  const Form& form() const { return form_; }
  /// The staged files, which are deleted when dropped unless kept.
  std::vector<files::StagedFile> take_files();
  /// Hex SHA-256 over the whole form; call once, after the last part.
  std::string fingerprint();

 private:
  void hash(std::string_view bytes);

  files::StagingArea& staging_;
  FormLimits limits_;
  Form form_;
  std::set<std::string, std::less<>> seen_;
  std::vector<files::StagedFile> files_;
  std::string field_;
  FieldKind kind_ = FieldKind::kUnknown;
  std::optional<files::StagedFile> current_file_;
  std::string current_text_;
  std::size_t total_text_bytes_ = 0;
  EVP_MD_CTX* digest_;
};

}  // namespace teamreg
