#include "registration/response.hpp"

#include <boost/json.hpp>
#include <stdexcept>

#include "core/error.hpp"
#include "registration/refusals.hpp"

namespace teamreg {

std::string registered_body(std::string_view team_id, std::string_view team_name,
                            int player_count) {
  return boost::json::serialize(boost::json::object{
      {"success", true},
      {"team_id", team_id},
      {"team_name", team_name},
      {"message", kRegisteredMessage},
      {"player_count", player_count},
      {"registration_status", "pending"},
  });
}

IdempotentAnswers idempotent_answers(const Registration& r, int teams_per_church) {
  constexpr std::string_view kPlaceholder = "teamreg-team-id";
  IdempotentAnswers answers;
  // head + JSON string of the team ID + tail is byte-identical to registered_body(team_id, ...).
  const std::string body =
      registered_body(kPlaceholder, r.team_name, static_cast<int>(r.players.size()));
  const std::string quoted = boost::json::serialize(boost::json::string(kPlaceholder));
  // team_id is the second key, after "success": its value is the first occurrence.
  const auto at = body.find(quoted);
  if (at == std::string::npos) throw std::logic_error("registered_body has no team_id value");
  answers.created_status = 201;
  answers.created_head = body.substr(0, at);
  answers.created_tail = body.substr(at + quoted.size());
  for (std::size_t i = 0; i < kRefusalCount; ++i) {
    const Error error = refusal_error(static_cast<Refusal>(i), teams_per_church);
    answers.refused.at(i) = StoredAnswer{http_status(error.code), error_body(error, r.request_id)};
  }
  return answers;
}

}  // namespace teamreg
