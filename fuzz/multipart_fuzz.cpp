// The streaming multipart parser fed the same body whole, byte by byte, split once and in random
// chunks: every way of slicing must give exactly the same parts and the same outcome, and the
// handler protocol (begin, data*, end; nothing after an error) must hold.
//
// Input: one control byte, then a line (up to the first '\n') that is either a Content-Type
// value (when it starts with "multipart/") or the boundary itself, then the body.
// Control byte: bits 0-3 make the handler refuse its n-th begin/end callback (0 = never);
// bits 4-5 pick the limits (kLimits). Seeds start with '0': default limits, no refusal.

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto control = static_cast<unsigned char>(input.front());
  const std::string_view rest = input.substr(1);
  const std::size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) return 0;
  const std::string_view line = rest.substr(0, newline);
  const std::string_view body = rest.substr(newline + 1);

  Setup setup;
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

  std::mt19937_64 rng(fnv1a(input));
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
