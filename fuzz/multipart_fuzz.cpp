// The streaming multipart parser fed the same body whole, byte by byte, split once and in random
// chunks: every way of slicing must give exactly the same parts and the same outcome, and the
// handler protocol (begin, data*, end; nothing after an error) must hold.
//
// Input: one control byte, then a line (up to the first '\n') that is either a Content-Type
// value (when it starts with "multipart/") or the boundary itself, then the body.
// Control byte: bits 0-3 make the handler refuse its n-th begin/end callback (0 = never);
// bits 4-5 pick the limits (kLimits). Seeds start with '0': default limits, no refusal.
// With bit 6 set ('p', 0x70) the rest of the input instead describes a form (boundary, parts with
// names, file names, types and contents), which the target writes as a body the way a client
// would: the parser must then give back exactly those parts.

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "check.hpp"
#include "http/multipart.hpp"
#include "json_check.hpp"

namespace {

using teamreg::Error;
using teamreg::error_code_name;
using teamreg::fuzz::check;
using teamreg::http::MultipartHandler;
using teamreg::http::MultipartLimits;
using teamreg::http::MultipartParser;
using teamreg::http::PartInfo;

constexpr std::array<MultipartLimits, 4> kLimits = {{
    {64, 4},
    {16, 1},
    {512, 8},
    {8 * 1024, 200},  // the server's defaults ('0' = 0x30 selects this one)
}};

// Writes down everything the parser tells it, except where on_part_data slices fall: those
// depend on the chunking, the bytes must not.
class Recorder final : public MultipartHandler {
 public:
  explicit Recorder(unsigned refuse_event) : refuse_event_(refuse_event) {}

  tl::expected<void, Error> on_part_begin(const PartInfo& part) override {
    check(!refused_, "on_part_begin after the handler returned an error");
    check(!open_, "on_part_begin while a part is open");
    check(!part.name.empty(), "a part was begun without a field name");
    open_ = true;
    data_.clear();
    log_ += "begin name=" + part.name + (part.has_filename ? " filename=" + part.filename : "") +
            " type=" + part.content_type + "\n";
    return event();
  }

  tl::expected<void, Error> on_part_data(std::string_view bytes) override {
    check(!refused_, "on_part_data after the handler returned an error");
    check(open_, "on_part_data outside a part");
    check(!bytes.empty(), "on_part_data with an empty slice");
    data_.append(bytes);
    return {};
  }

  tl::expected<void, Error> on_part_end() override {
    check(!refused_, "on_part_end after the handler returned an error");
    check(open_, "on_part_end outside a part");
    open_ = false;
    log_ += "data=" + data_ + "\nend\n";
    parts_data_.push_back(data_);
    return event();
  }

  /// The whole parse as text, unsliced data of a still open part included.
  std::string transcript(const tl::expected<void, Error>& result) const {
    std::string out = log_;
    if (open_) out += "open data=" + data_ + "\n";
    if (result) return out + "ok";
    const Error& error = result.error();
    return out + "error " + std::string(error_code_name(error.code)) + " field=" + error.field +
           " message=" + error.message;
  }

  bool refused() const { return refused_; }
  const std::vector<std::string>& parts_data() const { return parts_data_; }

 private:
  tl::expected<void, Error> event() {
    if (++events_ != refuse_event_) return {};
    refused_ = true;
    return tl::unexpected(teamreg::validation_error("injected", "handler refused"));
  }

  unsigned refuse_event_;
  unsigned events_ = 0;
  bool refused_ = false;
  bool open_ = false;
  std::string data_;
  std::string log_;
  std::vector<std::string> parts_data_;
};

struct Setup {
  std::string boundary;
  MultipartLimits limits;
  unsigned refuse_event = 0;
};

struct Run {
  std::string transcript;
  bool ok = false;
  bool refused = false;
  std::vector<std::string> parts_data;
};

// Feeds `body` cut at the increasing positions `cuts`, then finishes; stops at the first error.
Run parse(const Setup& setup, std::string_view body, const std::vector<std::size_t>& cuts) {
  Recorder recorder(setup.refuse_event);
  MultipartParser parser(setup.boundary, setup.limits, recorder);
  tl::expected<void, Error> result;
  std::size_t from = 0;
  for (std::size_t i = 0; i <= cuts.size() && result; ++i) {
    const std::size_t to = i < cuts.size() ? cuts[i] : body.size();
    result = parser.feed(body.substr(from, to - from));
    from = to;
  }
  if (result) result = parser.finish();
  if (!result) {
    teamreg::fuzz::check_error_body(result.error());
    // A failed parser keeps failing with the same error and calls the handler no more.
    const auto again = parser.feed("x");
    check(!again && again.error().message == result.error().message,
          "a failed parser did not repeat its error");
  }
  return Run{recorder.transcript(result), result.has_value(), recorder.refused(),
             recorder.parts_data()};
}

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const char c : bytes) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return hash;
}

std::vector<std::size_t> random_cuts(std::size_t size, std::mt19937_64& rng, std::size_t max_step) {
  std::uniform_int_distribution<std::size_t> step(1, max_step);
  std::vector<std::size_t> cuts;
  for (std::size_t at = step(rng); at < size; at += step(rng)) cuts.push_back(at);
  return cuts;
}

// A quoted-string as clients write it: only '"' and '\\' escaped.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string without(std::string text, std::string_view forbidden) {
  std::erase_if(text, [forbidden](char c) { return forbidden.find(c) != std::string_view::npos; });
  return text;
}

/// A well-formed body built from the input, and the transcript the parser must give for it;
/// nullopt when the input describes no usable form (a content holding the delimiter).
std::optional<std::pair<std::string, std::string>> build_form(std::string_view input,
                                                              std::string& boundary) {
  FuzzedDataProvider provider(reinterpret_cast<const std::uint8_t*>(input.data()), input.size());
  static constexpr std::string_view kBoundaryChars =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
  boundary.clear();
  const std::size_t boundary_length = provider.ConsumeIntegralInRange<std::size_t>(1, 70);
  for (std::size_t i = 0; i < boundary_length; ++i) {
    boundary.push_back(
        kBoundaryChars[provider.ConsumeIntegralInRange<std::size_t>(0, kBoundaryChars.size() - 1)]);
  }
  if (boundary.back() == ' ') boundary.back() = '-';
  const std::string delimiter = "\r\n--" + boundary;

  std::string body = provider.ConsumeBool() ? "preamble\r\n" : "";
  body += "--" + boundary;
  std::string transcript;
  const std::size_t parts = provider.ConsumeIntegralInRange<std::size_t>(0, 6);
  for (std::size_t i = 0; i < parts; ++i) {
    const std::string forbidden("\0\r\n", 3);
    std::string name = without(provider.ConsumeRandomLengthString(24), forbidden);
    if (name.empty()) name = "field";
    const bool has_filename = provider.ConsumeBool();
    const std::string filename =
        has_filename ? without(provider.ConsumeRandomLengthString(24), forbidden) : "";
    // Header values are trimmed of spaces and tabs and may not hold CR, LF or NUL.
    std::string type = without(provider.ConsumeRandomLengthString(24), forbidden);
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.erase(0, 1);
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
    const std::string content = provider.ConsumeRandomLengthString(512);
    if ((content + delimiter).find(delimiter) != content.size()) return std::nullopt;

    body += "\r\nContent-Disposition: form-data; name=" + quoted(name);
    if (has_filename) body += "; filename=" + quoted(filename);
    if (!type.empty()) body += "\r\nContent-Type: " + type;
    body += "\r\n\r\n" + content + delimiter;
    transcript += "begin name=" + name + (has_filename ? " filename=" + filename : "") +
                  " type=" + type + "\n" + "data=" + content + "\nend\n";
  }
  body += "--";
  if (provider.ConsumeBool()) body += "\r\nepilogue";
  return std::pair{std::move(body), transcript + "ok"};
}

/// Parses `body` in one slice, byte by byte, split at three points and in random chunks: every
/// transcript must be the same.
int check_slicings(const Setup& setup, std::string_view body) {
  const Run whole = parse(setup, body, {});
  const auto same = [&](const Run& run, std::string_view how) {
    if (run.transcript == whole.transcript) return;
    teamreg::fuzz::fail(
        "chunking changed the result: " + std::string(how),
        "whole:\n" + whole.transcript + "\n---- " + std::string(how) + ":\n" + run.transcript);
  };

  if (whole.ok) {
    // No part may contain the delimiter: it would have ended the part.
    const std::string delimiter = "\r\n--" + setup.boundary;
    for (const std::string& part : whole.parts_data) {
      check(part.find(delimiter) == std::string::npos, "a part's data holds the delimiter");
    }
    check(!whole.refused, "the parse succeeded although the handler refused");
  }

  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < body.size(); ++i) every_byte.push_back(i);
  same(parse(setup, body, every_byte), "byte by byte");

  std::mt19937_64 rng(fnv1a(body));
  for (int i = 0; i < 3 && !body.empty(); ++i) {
    const std::size_t cut = std::uniform_int_distribution<std::size_t>(0, body.size())(rng);
    same(parse(setup, body, {cut}), "split at " + std::to_string(cut));
  }
  for (const std::size_t max_step : std::array<std::size_t, 4>{2, 7, 64, 1024}) {
    same(parse(setup, body, random_cuts(body.size(), rng, max_step)),
         "random chunks up to " + std::to_string(max_step) + " bytes");
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto control = static_cast<unsigned char>(input.front());
  const std::string_view rest = input.substr(1);

  Setup setup;
  if ((control & 0x40u) != 0) {
    setup.limits = kLimits.back();
    auto built = build_form(rest, setup.boundary);
    if (!built) return 0;
    const Run run = parse(setup, built->first, {});
    if (run.transcript != built->second) {
      teamreg::fuzz::fail("a well-formed body did not parse to its parts",
                          "expected:\n" + built->second + "\n---- got:\n" + run.transcript);
    }
    return check_slicings(setup, built->first);
  }

  const std::size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view line = rest.substr(0, newline);
  const std::string_view body = rest.substr(newline + 1);
  setup.refuse_event = control & 0x0Fu;
  setup.limits = kLimits[(control >> 4u) & 0x03u];
  if (line.starts_with("multipart/")) {
    auto boundary = teamreg::http::multipart_boundary(line);
    if (!boundary) {
      teamreg::fuzz::check_error_body(boundary.error());
      return 0;
    }
    setup.boundary = std::move(*boundary);
  } else {
    setup.boundary = std::string(line);
  }
  return check_slicings(setup, body);
}
