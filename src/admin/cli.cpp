#include "admin/cli.hpp"

#include <fmt/format.h>

#include <charconv>
#include <ostream>

#include "admin/auth.hpp"
#include "admin/routes.hpp"

namespace teamreg::admin {
namespace {

int refuse(std::ostream& err, const Error& error) {
  err << "teamreg: " << error.message << " (" << error_code_name(error.code) << ")\n";
  return 1;
}

}  // namespace

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
  }
  return 1;
}

}  // namespace teamreg::admin
