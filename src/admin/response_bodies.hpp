#pragma once

#include <memory>

#include "admin/csv_export.hpp"
#include "files/blob_store.hpp"
#include "http/message.hpp"

namespace teamreg::admin {

// The admin routes' bodies that are streamed rather than held whole (http::BodySource).

/// A stored document, with its size as Content-Length.
std::shared_ptr<http::BodySource> document_body(std::unique_ptr<files::BlobReader> reader);

/// The CSV export, of unknown length (chunked). Its first piece is read here, on the request's
/// worker: a database failure at the start is still an error response, not a cut-off download.
/// Store failures throw as in AdminStore.
std::shared_ptr<http::BodySource> csv_body(CsvExport csv);

}  // namespace teamreg::admin
