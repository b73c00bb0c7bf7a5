#include "notify/templates.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace teamreg::notify {
namespace {

TeamMailData team() {
  TeamMailData data;
  data.team_id = "ICCT-007";
  data.team_name = "Warriors";
  data.church_name = "St. Peter's Church";
  data.captain_name = "John Doe";
  data.vice_name = "Jim Roe";
  data.players = {{"Player A", "Batsman"}, {"Player B", ""}, {"Player C", "Wicket-Keeper"}};
  return data;
}

std::string render(std::string_view source, const TeamMailData& data,
                   Escaping escaping = Escaping::kNone) {
  auto parsed = Template::parse(source);
  EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error());
  return parsed ? parsed->render(data, escaping) : std::string();
}

std::string parse_error(std::string_view source) {
  auto parsed = Template::parse(source);
  EXPECT_FALSE(parsed.has_value()) << "parsed: " << source;
  return parsed ? std::string() : parsed.error();
}

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "teamreg-templates-XXXXXX").string();
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  void write(const std::string& name, std::string_view contents) const {
    std::ofstream(path_ / name, std::ios::binary) << contents;
  }

 private:
  std::filesystem::path path_;
};

TEST(TemplateTest, SubstitutesValuesAndLoopsOverPlayers) {
  EXPECT_EQ(render("{{team_id}}: {{ team_name }} of {{church_name}}", team()),
            "ICCT-007: Warriors of St. Peter's Church");
  EXPECT_EQ(render("{{captain_name}}/{{vice_name}}/{{player_count}}", team()),
            "John Doe/Jim Roe/3");
  EXPECT_EQ(
      render("{{#players}}{{number}}.{{name}}{{#role}}({{role}}){{/role}};{{/players}}", team()),
      "1.Player A(Batsman);2.Player B;3.Player C(Wicket-Keeper);");
  EXPECT_EQ(render("{{#players}}{{team_id}}-{{number}} {{/players}}", team()),
            "ICCT-007-1 ICCT-007-2 ICCT-007-3 ");
}

TEST(TemplateTest, SectionTagsAloneOnALineLeaveNoBlankLines) {
  const std::string source =
      "Players:\n"
      "{{#players}}\n"
      "  {{number}}. {{name}}\n"
      "  {{/players}}\r\n"
      "{{^players}}\n"
      "none\n"
      "{{/players}}\n"
      "End\n";
  EXPECT_EQ(render(source, team()), "Players:\n  1. Player A\n  2. Player B\n  3. Player C\nEnd\n");
  TeamMailData nobody = team();
  nobody.players.clear();
  EXPECT_EQ(render(source, nobody), "Players:\nnone\nEnd\n");
}

TEST(TemplateTest, ConditionalSectionsOnValues) {
  const std::string source = "{{#reason}}Reason: {{reason}}{{/reason}}{{^reason}}none{{/reason}}";
  TeamMailData data = team();
  EXPECT_EQ(render(source, data), "none");
  data.reason = "duplicate registration";
  EXPECT_EQ(render(source, data), "Reason: duplicate registration");
}

TEST(TemplateTest, HtmlEscapesEveryValueAndTextNever) {
  TeamMailData data = team();
  data.team_name = "O'Brien <b>x</b> & co \"quoted\"";
  data.players = {{"<script>alert(1)</script>", "Bowler"}};
  const std::string source =
      "<p title=\"{{team_name}}\">{{team_name}}</p>"
      "{{#players}}<li>{{name}}</li>{{/players}}";
  EXPECT_EQ(render(source, data, Escaping::kHtml),
            "<p title=\"O&#39;Brien &lt;b&gt;x&lt;/b&gt; &amp; co &quot;quoted&quot;\">"
            "O&#39;Brien &lt;b&gt;x&lt;/b&gt; &amp; co &quot;quoted&quot;</p>"
            "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>");
  EXPECT_EQ(render(source, data, Escaping::kNone),
            "<p title=\"O'Brien <b>x</b> & co \"quoted\"\">O'Brien <b>x</b> & co \"quoted\"</p>"
            "<li><script>alert(1)</script></li>");
}

TEST(TemplateTest, ValuesAreNeverReparsedAsTemplates) {
  TeamMailData data = team();
  data.team_name = "{{team_id}} {{#players}}";
  EXPECT_EQ(render("{{team_name}}", data), "{{team_id}} {{#players}}");
}

TEST(TemplateTest, MistakesAreParseErrors) {
  EXPECT_NE(parse_error("{{teamid}}").find("unknown name in {{teamid}}"), std::string::npos);
  EXPECT_NE(parse_error("{{teamid}}").find("team_id"), std::string::npos) << "lists known names";
  EXPECT_NE(parse_error("{{name}}").find("unknown"), std::string::npos) << "name outside players";
  EXPECT_NE(parse_error("{{#players}}x").find("never closed"), std::string::npos);
  EXPECT_NE(parse_error("x{{/players}}").find("never opened"), std::string::npos);
  EXPECT_NE(parse_error("{{#players}}{{#reason}}{{/players}}{{/reason}}").find("does not close"),
            std::string::npos);
  EXPECT_NE(parse_error("{{#players}}{{#players}}{{/players}}{{/players}}").find("nested"),
            std::string::npos);
  EXPECT_NE(parse_error("{{{team_name}}}").find("always escaped"), std::string::npos);
  EXPECT_NE(parse_error("{{&team_name}}").find("always escaped"), std::string::npos);
  EXPECT_NE(parse_error("{{team_name").find("without a closing"), std::string::npos);
  EXPECT_NE(parse_error("{{}}").find("empty tag"), std::string::npos);
  EXPECT_NE(parse_error("{{> partial}}").find("unsupported"), std::string::npos);
  EXPECT_NE(parse_error("{{#unknown}}{{/unknown}}").find("unknown"), std::string::npos);
}

TEST(MailTemplatesTest, BuiltinsRenderEveryKind) {
  const MailTemplates templates = MailTemplates::builtin();
  TeamMailData data = team();
  data.church_name = "தூய பேதுரு ஆலயம்";

  const RenderedMail received = templates.render(MailKind::kReceived, data);
  EXPECT_EQ(received.subject, "Registration received: Warriors (ICCT-007)");
  for (const std::string* part : {&received.text, &received.html}) {
    EXPECT_NE(part->find("ICCT-007"), std::string::npos);
    EXPECT_NE(part->find("Warriors"), std::string::npos);
    EXPECT_NE(part->find(data.church_name), std::string::npos);
    EXPECT_NE(part->find("pending review"), std::string::npos);
    for (const PlayerLine& player : data.players) {
      EXPECT_NE(part->find(player.name), std::string::npos) << player.name;
    }
    EXPECT_EQ(part->find("{{"), std::string::npos);
  }
  EXPECT_NE(received.text.find("  1. Player A (Batsman)\n  2. Player B\n"), std::string::npos)
      << received.text;
  EXPECT_NE(received.html.find("<li>Player A (Batsman)</li>\n<li>Player B</li>"), std::string::npos)
      << received.html;

  const RenderedMail confirmed = templates.render(MailKind::kConfirmed, data);
  EXPECT_EQ(confirmed.subject, "Team confirmed: Warriors (ICCT-007)");
  for (const std::string* part : {&confirmed.text, &confirmed.html}) {
    EXPECT_NE(part->find("ICCT-007"), std::string::npos);
    EXPECT_NE(part->find("What happens next"), std::string::npos);
    for (const PlayerLine& player : data.players) {
      EXPECT_NE(part->find(player.name), std::string::npos);
    }
  }

  RenderedMail rejected = templates.render(MailKind::kRejected, data);
  EXPECT_EQ(rejected.subject, "Registration not accepted: Warriors (ICCT-007)");
  EXPECT_NE(rejected.text.find("did not give a reason"), std::string::npos);
  EXPECT_NE(rejected.html.find("did not give a reason"), std::string::npos);
  data.reason = "Pastor's letter <missing> & unsigned";
  rejected = templates.render(MailKind::kRejected, data);
  EXPECT_NE(rejected.text.find("Pastor's letter <missing> & unsigned"), std::string::npos);
  EXPECT_NE(rejected.html.find("Pastor&#39;s letter &lt;missing&gt; &amp; unsigned"),
            std::string::npos);
  EXPECT_EQ(rejected.text.find("did not give a reason"), std::string::npos);
}

TEST(MailTemplatesTest, SubjectsAreOneLineWhateverTheValues) {
  const MailTemplates templates = MailTemplates::builtin();
  TeamMailData data = team();
  data.team_name = "Warriors\r\nBcc: evil@attacker.org\t \x01 X";
  const RenderedMail mail = templates.render(MailKind::kReceived, data);
  EXPECT_EQ(mail.subject, "Registration received: Warriors Bcc: evil@attacker.org X (ICCT-007)");
}

TEST(MailTemplatesTest, OverridesReplaceOnlyTheirOwnFiles) {
  const TempDir dir;
  dir.write("confirmed.subject.txt", "\n  Welcome, {{team_name}}!  \n\n");
  dir.write("rejected.html", "<p>{{#reason}}{{reason}}{{/reason}}</p>");
  dir.write(".hidden-editor-file.swp", "ignored");
  auto templates = MailTemplates::load(dir.path());
  ASSERT_TRUE(templates.has_value()) << templates.error();
  EXPECT_EQ(templates->overridden(),
            (std::vector<std::string>{"confirmed.subject.txt", "rejected.html"}));
  TeamMailData data = team();
  data.reason = "late & incomplete";
  EXPECT_EQ(templates->render(MailKind::kConfirmed, data).subject, "Welcome, Warriors!");
  EXPECT_EQ(templates->render(MailKind::kRejected, data).html, "<p>late &amp; incomplete</p>");
  const MailTemplates builtin = MailTemplates::builtin();
  EXPECT_EQ(templates->render(MailKind::kRejected, data).text,
            builtin.render(MailKind::kRejected, data).text);
  EXPECT_EQ(templates->render(MailKind::kReceived, data).html,
            builtin.render(MailKind::kReceived, data).html);
}

TEST(MailTemplatesTest, BadOverrideDirectoriesAreClearStartupErrors) {
  const auto error = [](const std::filesystem::path& path) {
    auto loaded = MailTemplates::load(path);
    EXPECT_FALSE(loaded.has_value());
    return loaded ? std::string() : loaded.error();
  };
  const TempDir dir;
  EXPECT_NE(error(dir.path() / "missing").find("does not exist"), std::string::npos);
  EXPECT_NE(error(dir.path()).find("contains none of the template files"), std::string::npos);

  dir.write("recieved.txt", "typo");
  std::string message = error(dir.path());
  EXPECT_NE(message.find("unexpected file \"recieved.txt\""), std::string::npos) << message;
  EXPECT_NE(message.find("received.txt"), std::string::npos) << "names the expected files";
  std::filesystem::remove(dir.path() / "recieved.txt");

  dir.write("received.txt", "Hello {{captain}}");
  message = error(dir.path());
  EXPECT_NE(message.find(dir.path().string()), std::string::npos) << message;
  EXPECT_NE(message.find("received.txt: unknown name in {{captain}}"), std::string::npos)
      << message;

  dir.write("received.txt", "fine {{team_id}}");
  dir.write("received.subject.txt", "two\nlines");
  EXPECT_NE(error(dir.path()).find("single line"), std::string::npos);

  dir.write("received.subject.txt", "bad \xff utf-8");
  EXPECT_NE(error(dir.path()).find("not valid UTF-8"), std::string::npos);

  dir.write("received.subject.txt", std::string(65 * 1024, 'x'));
  EXPECT_NE(error(dir.path()).find("larger than"), std::string::npos);

  std::filesystem::remove(dir.path() / "received.subject.txt");
  std::filesystem::create_directory(dir.path() / "received.html");
  EXPECT_NE(error(dir.path()).find("not a regular file"), std::string::npos);
}

TEST(MailTemplatesTest, FileNamesAreTheNineBuiltIns) {
  EXPECT_EQ(MailTemplates::file_names(),
            (std::vector<std::string>{"received.subject.txt", "received.txt", "received.html",
                                      "confirmed.subject.txt", "confirmed.txt", "confirmed.html",
                                      "rejected.subject.txt", "rejected.txt", "rejected.html"}));
}

}  // namespace
}  // namespace teamreg::notify
