#include "admin/response_bodies.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace teamreg::admin {
namespace {

class DocumentBody final : public http::BodySource {
 public:
  explicit DocumentBody(std::unique_ptr<files::BlobReader> reader) : reader_(std::move(reader)) {}
  std::optional<std::uint64_t> size_bytes() const override { return reader_->size_bytes(); }
  std::string_view next() override { return reader_->next(); }

 private:
  std::unique_ptr<files::BlobReader> reader_;
};

class CsvBody final : public http::BodySource {
 public:
  explicit CsvBody(CsvExport csv) : csv_(std::move(csv)), first_(csv_.next()) {}
  std::optional<std::uint64_t> size_bytes() const override { return std::nullopt; }
  std::string_view next() override {
    if (first_) return *std::exchange(first_, std::nullopt);
    return csv_.next();
  }

 private:
  CsvExport csv_;
  std::optional<std::string_view> first_;  ///< into csv_'s buffer, until csv_.next() is called
};

}  // namespace

std::shared_ptr<http::BodySource> document_body(std::unique_ptr<files::BlobReader> reader) {
  return std::make_shared<DocumentBody>(std::move(reader));
}

std::shared_ptr<http::BodySource> csv_body(CsvExport csv) {
  return std::make_shared<CsvBody>(std::move(csv));
}

}  // namespace teamreg::admin
