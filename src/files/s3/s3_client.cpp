#include "files/s3/s3_client.hpp"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <thread>

#include "files/blob_store.hpp"

namespace teamreg::files {
namespace {

constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

CURLcode global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using List = std::unique_ptr<curl_slist, ListDeleter>;

bool valid_bucket(std::string_view bucket) {
  return bucket.size() >= 3 && bucket.size() <= 63 &&
         std::all_of(bucket.begin(), bucket.end(),
                     [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                              c == '.';
                     }) &&
         bucket.front() != '-' && bucket.front() != '.' && bucket.back() != '-' &&
         bucket.back() != '.';
}

/// Prefixes are kept to characters that need no encoding, so the signed path is the sent path.
bool valid_prefix(std::string_view prefix) {
  if (prefix.empty()) return true;
  if (prefix.size() > 512 || prefix.front() == '/' || prefix.back() == '/') return false;
  if (prefix.find("//") != std::string_view::npos) return false;
  return std::all_of(prefix.begin(), prefix.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/';
  });
}

/// Scheme and host[:port] of an endpoint URL without path, query or user.
tl::expected<std::pair<std::string, std::string>, std::string> split_endpoint(
    std::string_view endpoint) {
  std::string_view scheme;
  if (endpoint.starts_with("https://")) {
    scheme = "https";
  } else if (endpoint.starts_with("http://")) {
    scheme = "http";
  } else {
    return tl::make_unexpected("must start with http:// or https://");
  }
  std::string_view host = endpoint.substr(scheme.size() + 3);
  while (!host.empty() && host.back() == '/') host.remove_suffix(1);
  if (host.empty() || host.find_first_of("/?#@ ") != std::string_view::npos) {
    return tl::make_unexpected("must be scheme://host[:port], without a path, user or query");
  }
  return std::make_pair(std::string(scheme), std::string(host));
}

bool retryable(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: return true;
    default: return false;
  }
}

bool retryable(long status) {
  return status >= 500 || status == 429;
}

}  // namespace

std::string s3_xml_text(std::string_view xml, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag);
  const std::string close = fmt::format("</{}>", tag);
  const auto start = xml.find(open);
  if (start == std::string_view::npos) return {};
  const auto end = xml.find(close, start + open.size());
  if (end == std::string_view::npos) return {};
  const std::string_view raw = xml.substr(start + open.size(), end - start - open.size());
  std::string text;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '&') {
      text += raw[i];
      continue;
    }
    static constexpr std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool decoded = false;
    for (const auto& [entity, c] : kEntities) {
      if (raw.substr(i).starts_with(entity)) {
        text += c;
        i += entity.size() - 1;
        decoded = true;
        break;
      }
    }
    if (!decoded) text += '&';
  }
  return text;
}

namespace {

std::string xml_text(std::string_view xml, std::string_view tag) {
  return s3_xml_text(xml, tag);
}

/// One printable, short line (a reply may hold anything).
std::string log_safe(std::string_view text) {
  std::string clean;
  for (const char c : text.substr(0, 300)) {
    const auto byte = static_cast<unsigned char>(c);
    clean += (byte < 0x20 || byte == 0x7f) ? ' ' : c;
  }
  return clean;
}

struct Transfer {
  S3Reply* reply;
  std::size_t max_body_bytes;
  bool overflow = false;
  const S3Upload* upload = nullptr;
  std::uint64_t sent = 0;
  bool read_failed = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  if (transfer->reply->body.size() + n > transfer->max_body_bytes) {
    transfer->overflow = true;
    return 0;
  }
  transfer->reply->body.append(data, n);
  return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  constexpr std::string_view kName = "content-range:";
  if (line.size() > kName.size()) {
    std::string name(line.substr(0, kName.size()));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (name == kName) {
      std::string_view value = line.substr(kName.size());
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) {
        value.remove_suffix(1);
      }
      transfer->reply->content_range = std::string(value);
    }
  }
  return size * count;
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::uint64_t left = transfer->upload->size_bytes - transfer->sent;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(size * count, left));
  if (want == 0) return 0;
  try {
    const std::size_t n = transfer->upload->read(transfer->sent, buffer, want);
    if (n == 0) {
      transfer->read_failed = true;
      return CURL_READFUNC_ABORT;
    }
    transfer->sent += n;
    return n;
  } catch (const std::exception&) {
    transfer->read_failed = true;
    return CURL_READFUNC_ABORT;
  }
}

}  // namespace

/// Reusable easy handles: each keeps its connections (and TLS sessions) open between requests, so
/// a request usually finds a warm connection. At most max_connections exist; callers beyond wait.
class S3Client::Pool {
 public:
  explicit Pool(std::size_t max) : max_(std::max<std::size_t>(max, 1)) {}
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool() {
    for (CURL* handle : idle_) curl_easy_cleanup(handle);
  }

  /// A handle, or nullptr when none became free before the deadline.
  CURL* acquire(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!freed_.wait_until(lock, deadline, [this] { return !idle_.empty() || created_ < max_; })) {
      return nullptr;
    }
    if (!idle_.empty()) {
      CURL* handle = idle_.back();
      idle_.pop_back();
      return handle;
    }
    CURL* handle = curl_easy_init();
    if (handle != nullptr) ++created_;
    return handle;
  }

  void release(CURL* handle) {
    curl_easy_reset(handle);  // keeps the live connections, drops the options
    {
      const std::lock_guard lock(mutex_);
      idle_.push_back(handle);
    }
    freed_.notify_one();
  }

 private:
  std::size_t max_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<CURL*> idle_;
  std::size_t created_ = 0;
};

tl::expected<std::pair<std::string, std::string>, std::string> parse_s3_location(
    std::string_view location) {
  constexpr std::string_view kScheme = "s3://";
  if (!location.starts_with(kScheme)) {
    return tl::make_unexpected("must be local or s3://BUCKET[/PREFIX]");
  }
  std::string_view rest = location.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const auto slash = rest.find('/');
  std::string bucket(rest.substr(0, slash));
  std::string prefix(slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1));
  if (!valid_bucket(bucket)) {
    return tl::make_unexpected(fmt::format(
        "bucket name '{}' must be 3-63 characters a-z, 0-9, '.' or '-'", log_safe(bucket)));
  }
  if (!valid_prefix(prefix)) {
    return tl::make_unexpected(
        "the prefix may hold only A-Z, a-z, 0-9, '-', '_', '.' and single '/' between parts");
  }
  return std::make_pair(std::move(bucket), std::move(prefix));
}

std::optional<std::string> s3_config_error(const S3Config& config) {
  if (!valid_bucket(config.bucket)) return "the bucket name is not valid";
  if (!valid_prefix(config.prefix)) return "the prefix is not valid";
  if (config.region.empty() || !std::all_of(config.region.begin(), config.region.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
      })) {
    return "--s3-region must be a region name like us-east-1";
  }
  if (!config.endpoint.empty()) {
    if (auto split = split_endpoint(config.endpoint); !split) {
      return "--s3-endpoint " + split.error();
    }
  }
  if (config.access_key_id.empty() || config.secret_access_key.empty()) {
    return "an s3:// blob store needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
           "environment";
  }
  if (config.access_key_id.find(':') != std::string::npos) {
    return "AWS_ACCESS_KEY_ID must not contain ':'";
  }
  if (config.max_attempts < 1) return "S3 attempts must be at least 1";
  if (config.retry_base.count() < 2) return "the S3 retry back-off must be at least 2 ms";
  return std::nullopt;
}

std::string s3_encode(std::string_view text, bool keep_slash) {
  std::string out;
  for (const char c : text) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    if (plain) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

S3Client::S3Client(S3Config config) : config_(std::move(config)) {
  if (global_init() != CURLE_OK) throw std::runtime_error("libcurl initialisation failed");
  const std::string endpoint = config_.endpoint.empty()
                                   ? fmt::format("https://s3.{}.amazonaws.com", config_.region)
                                   : config_.endpoint;
  auto split = split_endpoint(endpoint);
  if (!split) throw std::invalid_argument("--s3-endpoint " + split.error());
  scheme_ = split->first;
  host_ = config_.path_style ? split->second : config_.bucket + "." + split->second;
  sigv4_ = fmt::format("aws:amz:{}:s3", config_.region);
  pool_ = std::make_unique<Pool>(config_.max_connections);
}

S3Client::~S3Client() = default;

std::string S3Client::object_name(std::string_view path) const {
  return config_.prefix.empty() ? std::string(path) : fmt::format("{}/{}", config_.prefix, path);
}

std::string S3Client::url(std::string_view object, std::string_view query) const {
  std::string out = fmt::format("{}://{}/", scheme_, host_);
  if (config_.path_style) {
    out += config_.bucket;
    if (!object.empty()) out += '/';
  }
  out += s3_encode(object, true);
  if (!query.empty()) {
    out += '?';
    out += query;
  }
  return out;
}

std::string S3Client::describe(std::string_view method, std::string_view object,
                               const S3Reply& reply) const {
  const std::string code = xml_text(reply.body, "Code");
  const std::string message = xml_text(reply.body, "Message");
  return fmt::format("{} s3://{}/{}: HTTP {}{}{}", method, config_.bucket, object, reply.status,
                     code.empty() ? "" : " " + log_safe(code),
                     message.empty() ? "" : ": " + log_safe(message));
}

S3Reply S3Client::send(Method method, std::string_view object, std::string_view query,
                       const std::vector<std::string>& headers, const S3Upload* upload,
                       std::size_t max_body_bytes) {
  if (method == Method::kPut && upload == nullptr) throw std::invalid_argument("PUT needs a body");
  const char* method_name = method == Method::kGet   ? "GET"
                            : method == Method::kPut ? "PUT"
                                                     : "DELETE";
  const std::string target = url(object, query);
  List header_list;
  const auto add_header = [&](const std::string& line) {
    curl_slist* grown = curl_slist_append(header_list.get(), line.c_str());
    if (grown == nullptr) throw std::bad_alloc();
    (void)header_list.release();
    header_list.reset(grown);
  };
  // libcurl 7.88 signs what it is given: the payload hash is ours to send (and it is signed).
  add_header(fmt::format("x-amz-content-sha256: {}",
                         upload != nullptr ? std::string_view(upload->sha256_hex) : kEmptySha256));
  if (!config_.session_token.empty()) {
    add_header("x-amz-security-token: " + config_.session_token);
  }
  add_header("Expect:");  // no 100-continue round trip before each upload
  for (const auto& line : headers) add_header(line);

  thread_local std::minstd_rand jitter(std::random_device{}());
  std::string last_problem;
  int attempts = 0;
  for (int attempt = 1; attempt <= config_.max_attempts; ++attempt) {
    if (attempt > 1) {
      const auto base = config_.retry_base * (1 << std::min(attempt - 2, 10));
      const auto pause = std::chrono::milliseconds(
          base.count() / 2 +
          static_cast<std::int64_t>(jitter() % static_cast<unsigned>(base.count() / 2 + 1)));
      std::this_thread::sleep_for(pause);
    }
    ++attempts;
    CURL* handle = pool_->acquire(std::chrono::steady_clock::now() + config_.attempt_timeout);
    if (handle == nullptr) {
      last_problem = "no connection to the object store became free in time";
      continue;
    }
    S3Reply reply;
    Transfer transfer{&reply, max_body_bytes, false, upload};
    curl_easy_setopt(handle, CURLOPT_URL, target.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_AWS_SIGV4, sigv4_.c_str());
    curl_easy_setopt(handle, CURLOPT_USERNAME, config_.access_key_id.c_str());
    curl_easy_setopt(handle, CURLOPT_PASSWORD, config_.secret_access_key.c_str());
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list.get());
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(config_.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(config_.attempt_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
    if (method == Method::kPut) {
      curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(handle, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(handle, CURLOPT_READDATA, &transfer);
      curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(upload != nullptr ? upload->size_bytes : 0));
    } else if (method == Method::kDelete) {
      curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    const CURLcode code = curl_easy_perform(handle);
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply.status);
    pool_->release(handle);
    if (transfer.read_failed) {
      throw BlobError(BlobError::Kind::kUnavailable,
                      fmt::format("{} s3://{}/{}: the staged file could not be read", method_name,
                                  config_.bucket, object));
    }
    if (code == CURLE_WRITE_ERROR && transfer.overflow) {
      throw BlobError(BlobError::Kind::kUnavailable,
                      fmt::format("{} s3://{}/{}: reply larger than {} bytes", method_name,
                                  config_.bucket, object, max_body_bytes));
    }
    if (code != CURLE_OK) {
      last_problem = fmt::format("{} s3://{}/{}: {}", method_name, config_.bucket, object,
                                 curl_easy_strerror(code));
      if (!retryable(code)) break;
      continue;
    }
    if (retryable(reply.status)) {
      last_problem = describe(method_name, object, reply);
      continue;
    }
    return reply;
  }
  throw BlobError(BlobError::Kind::kUnavailable,
                  fmt::format("{} (attempts: {})", last_problem, attempts));
}

}  // namespace teamreg::files
