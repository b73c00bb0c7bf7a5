// Load generator for POST /api/register/team: C concurrent keep-alive clients for a fixed time,
// printing registrations/s, latency percentiles, errors by status and the server's peak RSS.
// `verify` checks afterwards that the stored IDs are exactly 1..N.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kBoundary = "----teamregbench7MA4YWxkTrZu0gW";

std::string fake_pdf(std::size_t bytes) {
  std::string pdf = "%PDF-1.4\n";
  std::mt19937 rng(42);
  while (pdf.size() + 6 < bytes) pdf.push_back(static_cast<char>('a' + rng() % 26));
  pdf += "\n%%EOF";
  return pdf;
}

/// Letters-only tag for names (church names may not contain digits).
std::string letters(std::uint64_t n) {
  std::string s;
  do {
    s.push_back(static_cast<char>('a' + n % 26));
    n /= 26;
  } while (n != 0);
  return s;
}

struct Workload {
  int players = 12;
  std::string pastor_letter;
  std::string other_document;  // empty = only the pastor letter
};

void add_text(std::string& body, std::string_view name, std::string_view value) {
  body += fmt::format("--{}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n{}\r\n",
                      kBoundary, name, value);
}

void add_file(std::string& body, std::string_view name, const std::string& content) {
  body += fmt::format(
      "--{}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}.pdf\"\r\n"
      "Content-Type: application/pdf\r\n\r\n",
      kBoundary, name, name);
  body += content;
  body += "\r\n";
}

std::string registration_body(const Workload& w, const std::string& run_tag, std::uint64_t i) {
  std::string body;
  const std::string tag = run_tag + letters(i);
  add_text(body, "team_name", "Team " + tag);
  add_text(body, "church_name", "Church " + tag);
  add_text(body, "captain_name", "Captain " + tag);
  add_text(body, "captain_phone", fmt::format("9{:09d}", i % 1'000'000'000));
  add_text(body, "captain_email", fmt::format("c{}@bench.example", tag));
  add_text(body, "captain_whatsapp", "");
  add_text(body, "vice_name", "Vice " + tag);
  add_text(body, "vice_phone", fmt::format("8{:09d}", i % 1'000'000'000));
  add_text(body, "vice_email", fmt::format("v{}@bench.example", tag));
  add_text(body, "vice_whatsapp", "");
  add_file(body, "pastor_letter", w.pastor_letter);
  if (!w.other_document.empty()) {
    add_file(body, "payment_receipt", w.other_document);
    add_file(body, "group_photo", w.other_document);
  }
  for (int p = 0; p < w.players; ++p) {
    add_text(body, fmt::format("player_{}_name", p),
             "Player " + letters(static_cast<std::uint64_t>(p)));
    add_text(body, fmt::format("player_{}_role", p), "Batsman");
    if (!w.other_document.empty()) {
      add_file(body, fmt::format("player_{}_aadhar_file", p), w.other_document);
      add_file(body, fmt::format("player_{}_subscription_file", p), w.other_document);
    }
  }
  body += fmt::format("--{}--\r\n", kBoundary);
  return body;
}

struct Stats {
  std::vector<double> latencies_ms;
  std::map<unsigned, std::uint64_t> by_status;
  std::uint64_t transport_errors = 0;
};

asio::awaitable<void> client(tcp::endpoint endpoint, const Workload& workload,
                             const std::string& run_tag, std::uint64_t& next_index,
                             Clock::time_point deadline, Stats& stats) {
  auto executor = co_await asio::this_coro::executor;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  while (Clock::now() < deadline) {
    try {
      if (!stream) {
        stream.emplace(executor);
        co_await stream->async_connect(endpoint, asio::use_awaitable);
      }
      bhttp::request<bhttp::string_body> request{bhttp::verb::post, "/api/register/team", 11};
      request.set(bhttp::field::host, "127.0.0.1");
      request.set(bhttp::field::content_type,
                  fmt::format("multipart/form-data; boundary={}", kBoundary));
      request.body() = registration_body(workload, run_tag, next_index++);
      request.keep_alive(true);
      request.prepare_payload();
      const auto start = Clock::now();
      co_await bhttp::async_write(*stream, request, asio::use_awaitable);
      bhttp::response<bhttp::string_body> response;
      co_await bhttp::async_read(*stream, buffer, response, asio::use_awaitable);
      stats.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      ++stats.by_status[response.result_int()];
      if (!response.keep_alive()) stream.reset();
    } catch (const std::exception&) {
      ++stats.transport_errors;
      stream.reset();
      buffer.clear();
    }
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

long peak_rss_kb(int pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return -1;
}

std::string http_get(const tcp::endpoint& endpoint, const std::string& target) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(endpoint);
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
  request.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(stream, request);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> response;
  bhttp::read(stream, buffer, response);
  return response.body();
}

/// Pages through GET /api/teams and checks the IDs are exactly 1..N; prints N.
int verify(const tcp::endpoint& endpoint, long expect) {
  std::vector<long> numbers;
  for (long offset = 0;; offset += 1000) {
    const auto page = boost::json::parse(
        http_get(endpoint, fmt::format("/api/teams?limit=1000&offset={}", offset)));
    const auto& teams = page.at("teams").as_array();
    for (const auto& team : teams) {
      const std::string id(team.at("team_id").as_string());
      numbers.push_back(std::stol(id.substr(id.rfind('-') + 1)));
    }
    if (teams.size() < 1000) break;
  }
  std::sort(numbers.begin(), numbers.end());
  bool gapless = true;
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    if (numbers[i] != static_cast<long>(i) + 1) gapless = false;
  }
  const bool count_ok = expect < 0 || static_cast<long>(numbers.size()) == expect;
  fmt::print("verify teams={} ids_exactly_1_to_n={} count_matches_201s={}\n", numbers.size(),
             gapless ? "yes" : "NO", count_ok ? "yes" : "NO");
  return gapless && count_ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"teamreg registration load generator"};
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000;
  int concurrency = 16;
  double duration_s = 10;
  std::string workload_name = "w1";
  int server_pid = 0;
  std::string label = "teamreg";
  long expect = -1;
  bool do_verify = false;
  cli.add_option("--host", host);
  cli.add_option("--port", port)->required();
  cli.add_option("--concurrency,-c", concurrency);
  cli.add_option("--duration", duration_s, "seconds");
  cli.add_option("--workload", workload_name)->check(CLI::IsMember({"w1", "w2"}));
  cli.add_option("--server-pid", server_pid, "for the peak RSS figure");
  cli.add_option("--label", label);
  cli.add_flag("--verify", do_verify, "check stored IDs are exactly 1..N and exit");
  cli.add_option("--expect", expect, "with --verify: the number of 201s received overall");
  CLI11_PARSE(cli, argc, argv);

  const tcp::endpoint endpoint(asio::ip::make_address(host), port);
  if (do_verify) return verify(endpoint, expect);

  Workload workload;
  workload.pastor_letter = fake_pdf(20 * 1024);
  if (workload_name == "w2") {
    // The heaviest form the defaults allow: 15 players, every document (3 + 2 × 15 = 33).
    workload.players = 15;
    workload.pastor_letter = fake_pdf(100 * 1024);
    workload.other_document = fake_pdf(100 * 1024);
  }
  // A tag per run keeps e-mails, churches and team names unique across runs on one database.
  const std::string run_tag = letters(std::random_device{}() % 200'000'000);
  std::uint64_t next_index = 0;
  asio::io_context ioc(1);
  std::vector<Stats> stats(static_cast<std::size_t>(concurrency));
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(duration_s));
  for (auto& s : stats) {
    asio::co_spawn(ioc, client(endpoint, workload, run_tag, next_index, deadline, s),
                   asio::detached);
  }
  ioc.run();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();

  Stats all;
  for (auto& s : stats) {
    all.latencies_ms.insert(all.latencies_ms.end(), s.latencies_ms.begin(), s.latencies_ms.end());
    for (auto [status, n] : s.by_status) all.by_status[status] += n;
    all.transport_errors += s.transport_errors;
  }
  std::sort(all.latencies_ms.begin(), all.latencies_ms.end());
  const auto created = all.by_status[201];
  std::string errors;
  for (auto [status, n] : all.by_status) {
    if (status != 201) errors += fmt::format("{}:{} ", status, n);
  }
  if (all.transport_errors != 0) errors += fmt::format("io:{} ", all.transport_errors);
  fmt::print(
      "{:<10} {} c={:<4} created={:<7} rate={:>8.1f}/s p50={:>7.2f}ms p90={:>7.2f}ms "
      "p99={:>7.2f}ms max={:>8.2f}ms errors=[{}] server_peak_rss={}\n",
      label, workload_name, concurrency, created, static_cast<double>(created) / elapsed,
      percentile(all.latencies_ms, 0.50), percentile(all.latencies_ms, 0.90),
      percentile(all.latencies_ms, 0.99), all.latencies_ms.empty() ? 0 : all.latencies_ms.back(),
      errors.empty() ? "none" : errors.substr(0, errors.size() - 1),
      server_pid > 0 ? fmt::format("{:.1f}MB", static_cast<double>(peak_rss_kb(server_pid)) / 1024)
                     : std::string("n/a"));
  return 0;
}
