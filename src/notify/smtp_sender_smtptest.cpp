#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "notify/smtp_sender.hpp"
#include "notify/templates.hpp"
#include "testing/smtp_capture.hpp"

namespace teamreg::notify {
namespace {

using testing::SmtpCapture;
using namespace std::chrono_literals;

constexpr auto kArrival = 10s;
const std::string kTamilChurch = "தூய பேதுரு ஆலயம்";
const std::string kMalayalamName = "ജോസഫ് മാത്യു";

SmtpConfig config_for(const std::string& url) {
  SmtpConfig config;
  config.url = url;
  config.connect_timeout = 5s;
  config.transfer_timeout = 10s;
  return config;
}

std::unique_ptr<CurlSmtpSender> sender_for(SmtpConfig config) {
  auto sender = CurlSmtpSender::create(std::move(config));
  if (!sender) throw std::runtime_error(sender.error());
  return std::move(*sender);
}

MailMessage message_for(const RenderedMail& rendered) {
  MailMessage m;
  m.from = {"ICCT26 Registrations", "noreply@icct26.org"};
  m.to = {"John O'Brien", "captain@example.com"};
  m.cc = {{"Jim Roe", "vice@example.com"}};
  m.subject = rendered.subject;
  m.text = rendered.text;
  m.html = rendered.html;
  m.message_id = make_message_id(41, "icct26.org");
  m.date = std::chrono::system_clock::now();
  return m;
}

MailMessage received_mail() {
  TeamMailData data;
  data.team_id = "ICCT-007";
  data.team_name = "Warriors";
  data.church_name = kTamilChurch;
  data.captain_name = "O'Brien <b>x</b> & co";
  data.vice_name = "Jim Roe";
  for (int i = 1; i <= 11; ++i) data.players.push_back({"Player " + std::to_string(i), "Bowler"});
  return message_for(MailTemplates::builtin().render(MailKind::kReceived, data));
}

std::string lf(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

TEST(SmtpSenderTest, MessageArrivesByteIntactWithCaptainToAndViceCc) {
  SmtpCapture server;
  auto sender = sender_for(config_for(server.url()));
  const MailMessage message = received_mail();
  const SendResult result = sender->send(message);
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.smtp_code, 250);

  const auto mails = server.wait_for(1, kArrival);
  ASSERT_EQ(mails.size(), 1u);
  const auto& mail = mails[0];
  EXPECT_EQ(mail.raw, *compose(message)) << "the server must receive exactly the composed bytes";
  EXPECT_EQ(mail.mail_from, "noreply@icct26.org");
  EXPECT_EQ(mail.rcpt_tos, (std::vector<std::string>{"captain@example.com", "vice@example.com"}));
  EXPECT_EQ(mail.to, "John O'Brien <captain@example.com>");
  EXPECT_EQ(mail.cc, "Jim Roe <vice@example.com>");
  EXPECT_EQ(mail.from, "ICCT26 Registrations <noreply@icct26.org>");
  EXPECT_EQ(mail.message_id, "<teamreg.outbox.41@icct26.org>");
  EXPECT_FALSE(mail.date.empty());
  EXPECT_EQ(mail.content_type, "multipart/alternative");
  EXPECT_TRUE(mail.defects.empty()) << mail.defects.front();
  EXPECT_EQ(mail.text, lf(message.text));
  EXPECT_EQ(mail.html, lf(message.html));
}

TEST(SmtpSenderTest, NonAsciiSubjectAndEscapedHtmlDecodeInPythonsEmailPackage) {
  SmtpCapture server;
  auto sender = sender_for(config_for(server.url()));
  MailMessage message = received_mail();
  message.subject = "Registration received: " + kTamilChurch + " (ICCT-007)";
  message.cc = {{kMalayalamName, "vice@example.com"}};
  ASSERT_TRUE(sender->send(message).ok());
  const auto mail = server.wait_for(1, kArrival).at(0);
  EXPECT_TRUE(mail.defects.empty()) << mail.defects.front();
  EXPECT_EQ(mail.subject, message.subject);
  EXPECT_EQ(mail.cc, kMalayalamName + " <vice@example.com>");
  EXPECT_NE(mail.text.find(kTamilChurch), std::string::npos);
  EXPECT_NE(mail.html.find(kTamilChurch), std::string::npos);
  EXPECT_NE(mail.text.find("Hello O'Brien <b>x</b> & co,"), std::string::npos) << mail.text;
  EXPECT_NE(mail.html.find("Hello O&#39;Brien &lt;b&gt;x&lt;/b&gt; &amp; co,"), std::string::npos)
      << mail.html;
}

TEST(SmtpSenderTest, LinesStartingWithADotAreStuffedByLibcurl) {
  SmtpCapture server;
  auto sender = sender_for(config_for(server.url()));
  MailMessage message = received_mail();
  message.text = ".\n..two dots\n.hidden\nend\n";
  message.html = ".\n<p>x</p>\n";
  ASSERT_TRUE(sender->send(message).ok());
  const auto mail = server.wait_for(1, kArrival).at(0);
  EXPECT_EQ(mail.raw, *compose(message));
  EXPECT_EQ(mail.text, message.text);
  EXPECT_EQ(mail.html, message.html);
}

TEST(SmtpSenderTest, SeveralMessagesOverOneSender) {
  SmtpCapture server;
  auto sender = sender_for(config_for(server.url()));
  for (int i = 1; i <= 3; ++i) {
    MailMessage message = received_mail();
    message.message_id = make_message_id(i, "icct26.org");
    ASSERT_TRUE(sender->send(message).ok());
  }
  const auto mails = server.wait_for(3, kArrival);
  ASSERT_EQ(mails.size(), 3u);
  EXPECT_EQ(mails[2].message_id, "<teamreg.outbox.3@icct26.org>");
}

TEST(SmtpSenderTest, Reply550IsPermanentAndTheErrorIsLogSafe) {
  SmtpCapture server(SmtpCapture::Mode::kReject550);
  auto sender = sender_for(config_for(server.url()));
  const SendResult result = sender->send(received_mail());
  RecordProperty("error", result.error);
  EXPECT_EQ(result.status, SendStatus::kPermanent) << result.error;
  EXPECT_EQ(result.smtp_code, 550);
  EXPECT_NE(result.error.find("550"), std::string::npos) << result.error;
  EXPECT_NE(result.error.find("Refused by the test server"), std::string::npos) << result.error;
  EXPECT_EQ(result.error.find('@'), std::string::npos) << "no addresses: " << result.error;
  EXPECT_EQ(result.error.find("Warriors"), std::string::npos) << result.error;
  EXPECT_TRUE(server.messages().empty());
}

TEST(SmtpSenderTest, Reply451IsTransient) {
  SmtpCapture server(SmtpCapture::Mode::kTempfail451);
  auto sender = sender_for(config_for(server.url()));
  const SendResult result = sender->send(received_mail());
  RecordProperty("error", result.error);
  EXPECT_EQ(result.status, SendStatus::kTransient) << result.error;
  EXPECT_EQ(result.smtp_code, 451);
  EXPECT_NE(result.error.find("451"), std::string::npos) << result.error;
  EXPECT_TRUE(server.messages().empty());
}

TEST(SmtpSenderTest, StoppedServerIsTransient) {
  SmtpCapture server;
  auto sender = sender_for(config_for(server.url()));
  server.stop();
  const SendResult result = sender->send(received_mail());
  RecordProperty("error", result.error);
  EXPECT_EQ(result.status, SendStatus::kTransient) << result.error;
  EXPECT_EQ(result.smtp_code, 0);
  EXPECT_FALSE(result.error.empty());
  EXPECT_EQ(sender->probe().status, SendStatus::kTransient);
}

TEST(SmtpSenderTest, AfterAnOutageTheSameSenderDeliversOnce) {
  SmtpCapture server;
  auto sender = sender_for(config_for(server.url()));
  ASSERT_TRUE(sender->send(received_mail()).ok());
  server.stop();
  MailMessage retried = received_mail();
  retried.message_id = make_message_id(42, "icct26.org");
  EXPECT_EQ(sender->send(retried).status, SendStatus::kTransient);
  server.restart();
  const SendResult result = sender->send(retried);
  ASSERT_TRUE(result.ok()) << result.error;
  const auto mails = server.wait_for(2, kArrival);
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_EQ(mails[0].message_id, "<teamreg.outbox.41@icct26.org>");
  EXPECT_EQ(mails[1].message_id, "<teamreg.outbox.42@icct26.org>");
}

TEST(SmtpSenderTest, ServerThatNeverAnswersTimesOutTransiently) {
  // A socket that listens but never accepts: the kernel completes the TCP handshake, no greeting
  // ever comes.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  SmtpConfig config = config_for(fmt::format("smtp://127.0.0.1:{}", ntohs(address.sin_port)));
  config.transfer_timeout = 1s;
  const SendResult result = sender_for(config)->send(received_mail());
  ::close(fd);
  RecordProperty("error", result.error);
  EXPECT_EQ(result.status, SendStatus::kTransient) << result.error;
  EXPECT_NE(result.error.find("curl error 28"), std::string::npos) << result.error;
}

TEST(SmtpSenderTest, ProbeSucceedsWithoutSendingMail) {
  SmtpCapture server;
  const SendResult result = sender_for(config_for(server.url()))->probe();
  EXPECT_TRUE(result.ok()) << result.error;
  EXPECT_EQ(result.smtp_code, 250);
  EXPECT_TRUE(server.messages().empty());
}

TEST(SmtpSenderTest, LogsInWithUserAndPassword) {
  SmtpCapture server(SmtpCapture::Mode::kAccept, "teamreg:s3cret-pass");
  SmtpConfig config = config_for(server.url());
  config.user = "teamreg";
  config.password = "s3cret-pass";
  auto sender = sender_for(config);
  EXPECT_TRUE(sender->probe().ok());
  const SendResult result = sender->send(received_mail());
  ASSERT_TRUE(result.ok()) << result.error;
  EXPECT_TRUE(server.wait_for(1, kArrival).at(0).authenticated);
}

TEST(SmtpSenderTest, WrongPasswordIsTransientAndNeverInTheError) {
  SmtpCapture server(SmtpCapture::Mode::kAccept, "teamreg:right-password");
  SmtpConfig config = config_for(server.url());
  config.user = "teamreg";
  config.password = "wrong-password-value";
  auto sender = sender_for(config);
  for (const SendResult& result : {sender->send(received_mail()), sender->probe()}) {
    RecordProperty("error", result.error);
    EXPECT_EQ(result.status, SendStatus::kTransient) << result.error;
    EXPECT_NE(result.error.find("login refused"), std::string::npos) << result.error;
    EXPECT_EQ(result.error.find("wrong-password-value"), std::string::npos) << result.error;
  }
  // No credentials for a server that wants them: 530, the operator's to fix, so not permanent.
  const SendResult anonymous = sender_for(config_for(server.url()))->send(received_mail());
  EXPECT_EQ(anonymous.status, SendStatus::kTransient) << anonymous.error;
  EXPECT_EQ(anonymous.smtp_code, 530);
  EXPECT_TRUE(server.messages().empty());
}

TEST(SmtpSenderTest, RequiredStartTlsFailsTransientlyWhenNotOffered) {
  SmtpCapture server;
  SmtpConfig config = config_for(server.url());
  config.starttls = StartTls::kRequired;
  const SendResult result = sender_for(config)->send(received_mail());
  RecordProperty("error", result.error);
  EXPECT_EQ(result.status, SendStatus::kTransient) << result.error;
  EXPECT_NE(result.error.find("curl error 64"), std::string::npos) << result.error;
  EXPECT_TRUE(server.messages().empty());
}

TEST(SmtpSenderTest, MessageThatCannotBeComposedIsPermanentAndNeverSent) {
  SmtpCapture server;
  MailMessage message = received_mail();
  message.cc[0].address = "vice@example.com>\r\nRCPT TO:<evil@attacker.org";
  const SendResult result = sender_for(config_for(server.url()))->send(message);
  EXPECT_EQ(result.status, SendStatus::kPermanent);
  EXPECT_NE(result.error.find("Cc[0] address"), std::string::npos) << result.error;
  EXPECT_EQ(result.error.find("evil"), std::string::npos) << result.error;
  EXPECT_TRUE(server.messages().empty());
}

}  // namespace
}  // namespace teamreg::notify
