#include "admin/cli.hpp"

#include <fmt/format.h>

#include <charconv>
#include <istream>
#include <optional>
#include <ostream>

#include "admin/auth.hpp"
#include "admin/routes.hpp"

namespace teamreg::admin {
namespace {

int refuse(std::ostream& err, const Error& error) {
  err << "teamreg: " << error.message << " (" << error_code_name(error.code) << ")\n";
  return 1;
}

/// One line of `in` without its line end; nullopt at end of input. Reads at most a little more
/// than the longest password, so a runaway input is refused instead of buffered.
std::optional<std::string> read_line(std::istream& in) {
  std::string line;
  char c = 0;
  bool any = false;
  while (in.get(c)) {
    any = true;
    if (c == '\n') break;
    line.push_back(c);
    if (line.size() > kMaxPasswordBytes + 1) break;
  }
  if (!any) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

/// The password from stdin: one line, or with `prompt` typed twice on the terminal.
tl::expected<std::string, Error> read_password(const Command& command, std::istream& in,
                                               std::ostream& err) {
  if (command.prompt) err << "Password for " << command.name << ": " << std::flush;
  auto password = read_line(in);
  if (command.prompt) err << "\n";
  if (!password || password->empty()) {
    return tl::unexpected(validation_error(
        "password", "No password on stdin: pass it as one line (--password-stdin)"));
  }
  if (command.prompt) {
    err << "Again: " << std::flush;
    const auto again = read_line(in);
    err << "\n";
    if (again != password) {
      return tl::unexpected(validation_error("password", "The two passwords differ"));
    }
  }
  return std::move(*password);
}

}  // namespace

int run_user_command(AccountService& accounts, const Command& command, std::istream& in,
                     std::ostream& out, std::ostream& err) {
  switch (command.kind) {
    case Command::Kind::kUserCreate: {
      const auto password = read_password(command, in, err);
      if (!password) return refuse(err, password.error());
      if (auto created = accounts.create_user(command.name, command.role, *password, kCliActor);
          !created) {
        return refuse(err, created.error());
      }
      out << fmt::format("Created {} user '{}'\n", command.role, command.name);
      return 0;
    }
    case Command::Kind::kUserList: {
      out << fmt::format("{:<24} {:<7} {:<9} {:<25} {:<25} {}\n", "NAME", "ROLE", "STATUS",
                         "CREATED", "PASSWORD SET", "LAST SEEN");
      for (const auto& u : accounts.list_users()) {
        out << fmt::format("{:<24} {:<7} {:<9} {:<25} {:<25} {}\n", u.name, u.role,
                           u.disabled_at ? "disabled" : "active", u.created_at,
                           u.password_changed_at, u.last_seen_at.value_or("-"));
      }
      return 0;
    }
    case Command::Kind::kUserDisable: {
      if (auto disabled = accounts.disable_user(command.name, kCliActor); !disabled) {
        return refuse(err, disabled.error());
      }
      out << fmt::format("Disabled user '{}'; its sessions have ended\n", command.name);
      return 0;
    }
    case Command::Kind::kUserSetPassword: {
      const auto password = read_password(command, in, err);
      if (!password) return refuse(err, password.error());
      if (auto changed = accounts.set_password(command.name, *password, kCliActor); !changed) {
        return refuse(err, changed.error());
      }
      out << fmt::format("Changed the password of '{}'; its sessions have ended\n", command.name);
      return 0;
    }
    default: break;
  }
  return 1;
}

int run_command(AdminService& service, const Command& command, std::ostream& out,
                std::ostream& err) {
  switch (command.kind) {
    case Command::Kind::kTokenCreate: {
      const auto token = service.create_token(command.name, kCliActor);
      if (!token) return refuse(err, token.error());
      out << *token << "\n";
      err << fmt::format(
          "Created admin token '{}'. It is shown only this once: store it now.\n"
          "Send it as the header  Authorization: Bearer <token>\n",
          command.name);
      return 0;
    }
    case Command::Kind::kTokenList: {
      const auto tokens = service.list_tokens();
      out << fmt::format("{:<24} {:<8} {:<25} {:<25} {}\n", "NAME", "STATUS", "CREATED",
                         "LAST USED", "REVOKED");
      for (const auto& t : tokens) {
        out << fmt::format("{:<24} {:<8} {:<25} {:<25} {}\n", t.name,
                           t.revoked_at ? "revoked" : "active", t.created_at,
                           t.last_used_at.value_or("-"), t.revoked_at.value_or("-"));
      }
      return 0;
    }
    case Command::Kind::kTokenRevoke: {
      if (auto revoked = service.revoke_token(command.name, kCliActor); !revoked) {
        return refuse(err, revoked.error());
      }
      out << fmt::format("Revoked admin token '{}'\n", command.name);
      return 0;
    }
    case Command::Kind::kSequenceShow: out << sequence_body(service.sequence()) << "\n"; return 0;
    case Command::Kind::kSequenceReset: {
      const std::string& raw = command.new_number;
      std::int64_t number = 0;
      const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), number);
      if (raw.empty() || ec != std::errc{} || end != raw.data() + raw.size()) {
        return refuse(err, validation_error("new_number", "N must be a whole number"));
      }
      const auto reset = service.reset_sequence(number, kCliActor);
      if (!reset) return refuse(err, reset.error());
      out << reset_body(*reset) << "\n";
      return 0;
    }
    case Command::Kind::kSequenceSync:
      out << sync_body(service.sync_sequence(kCliActor)) << "\n";
      return 0;
    case Command::Kind::kUserCreate:
    case Command::Kind::kUserList:
    case Command::Kind::kUserDisable:
    case Command::Kind::kUserSetPassword: break;  // run_user_command
  }
  return 1;
}

}  // namespace teamreg::admin
