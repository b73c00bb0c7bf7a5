#include "notify/smtp_sender.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <mutex>

namespace teamreg::notify {
namespace {

constexpr std::size_t kMaxErrorBytes = 300;
constexpr std::size_t kMinRedactedPasswordBytes = 4;

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct ListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* text) const { curl_free(text); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

/// curl_global_init is not thread-safe in every libcurl build: run it once, before any handle.
CURLcode global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

struct Upload {
  std::string_view bytes;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, upload->bytes.size() - upload->offset);
  std::memcpy(buffer, upload->bytes.data() + upload->offset, n);
  upload->offset += n;
  return n;
}

std::size_t discard(char*, std::size_t size, std::size_t count, void*) {
  return size * count;
}

/// The last failing reply line from the server (code ≥ 400), for the error text: libcurl's own
/// message says only "RCPT failed: 550", the server's line says why ("Relaying denied").
/// Only server→client lines are looked at: client→server lines carry AUTH credentials.
int keep_failing_reply(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN || size < 4) return 0;
  const std::string_view line(data, size);
  if (line[0] >= '4' && line[0] <= '5') *static_cast<std::string*>(user) = std::string(line);
  return 0;
}

/// One printable line: control characters become spaces, anything that looks like an e-mail
/// address becomes "<address>" (a server reply may quote a recipient), the password (should a
/// server ever echo it) becomes "[redacted]", and the result is capped.
std::string log_safe(std::string_view text, std::string_view password) {
  std::string clean;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    clean += (byte < 0x20 || byte == 0x7f) ? ' ' : c;
  }
  if (password.size() >= kMinRedactedPasswordBytes) {
    constexpr std::string_view kRedacted = "[redacted]";
    for (auto at = clean.find(password); at != std::string::npos;
         at = clean.find(password, at + kRedacted.size())) {
      clean.replace(at, password.size(), kRedacted);
    }
  }
  std::string out;
  std::size_t start = 0;
  while (start < clean.size()) {
    const auto space = clean.find(' ', start);
    const auto end = space == std::string::npos ? clean.size() : space;
    const auto word = std::string_view(clean).substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;  // runs of blanks (a reply's CRLF) become one space
    if (!out.empty()) out += ' ';
    out += word.find('@') != std::string_view::npos ? std::string_view("<address>") : word;
  }
  if (out.size() > kMaxErrorBytes) {
    std::size_t cut = kMaxErrorBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out.resize(cut);
    out += "...";
  }
  return out;
}

/// RFC 4954 replies that mean "this server wants other credentials from us": the operator's to
/// fix, so the mail waits for the fix instead of dying.
bool is_credentials_reply(long code) {
  return code == 530 || code == 534 || code == 535 || code == 538;
}

SendResult classify(CURLcode result, long code, const char* error_buffer,
                    const std::string& failing_reply, std::string_view password) {
  if (result == CURLE_OK) return SendResult{SendStatus::kSent, {}, static_cast<int>(code)};
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(result);
  if (!failing_reply.empty()) detail += "; server said: " + failing_reply;
  SendResult out{SendStatus::kTransient, {}, static_cast<int>(code)};
  out.error =
      log_safe(fmt::format("{} (curl error {})", detail, static_cast<int>(result)), password);
  if (result == CURLE_LOGIN_DENIED || is_credentials_reply(code)) {
    out.error = "SMTP login refused, check the SMTP user and password: " + out.error;
  } else if (code >= 500 && code <= 599) {
    out.status = SendStatus::kPermanent;
  }
  return out;
}

/// Options every transfer shares: where, how securely, as whom, how long.
CURLcode apply_common(CURL* handle, const SmtpConfig& config, char* error_buffer,
                      std::string* failing_reply) {
  CURLcode rc = CURLE_OK;
  const auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(handle, option, value);
  };
  set(CURLOPT_URL, config.url.c_str());
  // Only mail: a URL that slipped past validation must not turn into some other transfer.
  set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // smtp://: STARTTLS when offered (TRY) or insisted on (ALL). smtps:// is TLS from the first
  // byte whatever this says. Certificates are verified against the system store (the default).
  set(CURLOPT_USE_SSL,
      static_cast<long>(config.starttls == StartTls::kRequired ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!config.user.empty()) {
    set(CURLOPT_USERNAME, config.user.c_str());
    set(CURLOPT_PASSWORD, config.password.c_str());
  }
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout.count()));
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(config.transfer_timeout.count()));
  // No SIGALRM-based DNS timeouts: this runs on worker threads of a multi-threaded server.
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_WRITEFUNCTION, &discard);
  // VERBOSE only routes protocol lines to keep_failing_reply; nothing is printed.
  set(CURLOPT_DEBUGFUNCTION, &keep_failing_reply);
  set(CURLOPT_DEBUGDATA, failing_reply);
  set(CURLOPT_VERBOSE, 1L);
  return rc;
}

SendResult setup_failure(CURLcode rc) {
  return SendResult{SendStatus::kTransient,
                    fmt::format("libcurl refused an option: {}", curl_easy_strerror(rc)), 0};
}

}  // namespace

std::optional<std::string> smtp_config_error(const SmtpConfig& config) {
  if (global_init() != CURLE_OK) return "libcurl could not be initialised";
  const std::unique_ptr<CURLU, UrlDeleter> url(curl_url());
  if (!url) return "out of memory";
  // The URL is never echoed back: it might hold a password the operator put there by mistake.
  if (curl_url_set(url.get(), CURLUPART_URL, config.url.c_str(), 0) != CURLUE_OK) {
    return "the SMTP URL is not a valid smtp://host:port or smtps://host:port URL";
  }
  const auto part = [&](CURLUPart which) {
    char* text = nullptr;
    const bool present = curl_url_get(url.get(), which, &text, 0) == CURLUE_OK && text != nullptr;
    const std::unique_ptr<char, CurlStringDeleter> owned(text);
    return present ? std::optional<std::string>(text) : std::nullopt;
  };
  const auto scheme = part(CURLUPART_SCHEME);
  if (!scheme || (*scheme != "smtp" && *scheme != "smtps")) {
    return "the SMTP URL must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)";
  }
  if (part(CURLUPART_USER) || part(CURLUPART_PASSWORD)) {
    return "the SMTP URL must not contain credentials: give the user with --smtp-user and the "
           "password through TEAMREG_SMTP_PASSWORD or --smtp-password-file";
  }
  if (part(CURLUPART_QUERY) || part(CURLUPART_FRAGMENT)) {
    return "the SMTP URL must not have a query or a fragment";
  }
  const auto host = part(CURLUPART_HOST);
  if (!host || host->empty()) return "the SMTP URL has no host";
  if (config.connect_timeout.count() <= 0 || config.transfer_timeout.count() <= 0) {
    return "SMTP timeouts must be positive";
  }
  if (config.user.empty() != config.password.empty()) {
    return "an SMTP user needs a password and a password needs a user";
  }
  return std::nullopt;
}

tl::expected<std::unique_ptr<CurlSmtpSender>, std::string> CurlSmtpSender::create(
    SmtpConfig config) {
  if (auto error = smtp_config_error(config)) return tl::make_unexpected(std::move(*error));
  return std::unique_ptr<CurlSmtpSender>(new CurlSmtpSender(std::move(config)));
}

SendResult CurlSmtpSender::send(const MailMessage& message) {
  auto bytes = compose(message);
  if (!bytes) {
    return SendResult{SendStatus::kPermanent, "message not sent: " + bytes.error(), 0};
  }
  const Easy handle(curl_easy_init());
  if (!handle) return SendResult{SendStatus::kTransient, "libcurl could not create a handle", 0};

  // compose() has checked every address with is_sendable_address(): no "<", ">", CR or LF can
  // reach the MAIL FROM / RCPT TO command lines.
  List recipients(curl_slist_append(nullptr, message.to.address.c_str()));
  for (const Mailbox& cc : message.cc) {
    if (!recipients) break;
    curl_slist* grown = curl_slist_append(recipients.get(), cc.address.c_str());
    if (grown == nullptr) recipients.reset();
  }
  if (!recipients) return SendResult{SendStatus::kTransient, "out of memory", 0};

  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  std::string failing_reply;
  Upload upload{*bytes};
  const std::string from = fmt::format("<{}>", message.from.address);
  CURLcode rc = apply_common(handle.get(), config_, error_buffer.data(), &failing_reply);
  const auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(handle.get(), option, value);
  };
  set(CURLOPT_MAIL_FROM, from.c_str());
  set(CURLOPT_MAIL_RCPT, recipients.get());
  // An upload makes libcurl send MAIL/RCPT/DATA and stream the read callback as the message;
  // it dot-stuffs lines that start with "." and appends the final "\r\n.\r\n" itself.
  set(CURLOPT_UPLOAD, 1L);
  set(CURLOPT_READFUNCTION, &read_upload);
  set(CURLOPT_READDATA, &upload);
  set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(bytes->size()));
  if (rc != CURLE_OK) return setup_failure(rc);

  const CURLcode result = curl_easy_perform(handle.get());
  long code = 0;
  curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &code);
  return classify(result, code, error_buffer.data(), failing_reply, config_.password);
}

SendResult CurlSmtpSender::probe() {
  const Easy handle(curl_easy_init());
  if (!handle) return SendResult{SendStatus::kTransient, "libcurl could not create a handle", 0};
  std::array<char, CURL_ERROR_SIZE> error_buffer{};
  std::string failing_reply;
  CURLcode rc = apply_common(handle.get(), config_, error_buffer.data(), &failing_reply);
  // Without recipients or an upload libcurl sends this one command after EHLO, STARTTLS and
  // AUTH: the whole path a mail takes, minus the mail.
  if (rc == CURLE_OK) rc = curl_easy_setopt(handle.get(), CURLOPT_CUSTOMREQUEST, "NOOP");
  if (rc != CURLE_OK) return setup_failure(rc);
  const CURLcode result = curl_easy_perform(handle.get());
  long code = 0;
  curl_easy_getinfo(handle.get(), CURLINFO_RESPONSE_CODE, &code);
  return classify(result, code, error_buffer.data(), failing_reply, config_.password);
}

}  // namespace teamreg::notify
