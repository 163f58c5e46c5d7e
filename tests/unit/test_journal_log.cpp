// Journal records: every key=value of a log line becomes a field.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/journal_log.hpp"
#include "common/log.hpp"

using namespace tlsward;

TEST_CASE("journal records carry the line's pairs as fields", "[log]") {
    std::string r = journal_record(
        6, "netproc",
        "event=close conn=7 service=web peer=127.0.0.1:5000 sni=\"a.test\" alpn=\"\" "
        "bytes_in=10 reason=\"client sent close_notify\"");
    CHECK(r.find("PRIORITY=6\n") != std::string::npos);
    CHECK(r.find("SYSLOG_IDENTIFIER=tlsward\n") != std::string::npos);
    CHECK(r.find("ROLE=netproc\n") != std::string::npos);
    CHECK(r.find("MESSAGE=netproc: event=close conn=7 ") != std::string::npos);
    CHECK(r.find("\nEVENT=close\n") != std::string::npos);
    CHECK(r.find("\nCONN=7\n") != std::string::npos);
    CHECK(r.find("\nSERVICE=web\n") != std::string::npos);
    CHECK(r.find("\nPEER=127.0.0.1:5000\n") != std::string::npos);
    CHECK(r.find("\nSNI=a.test\n") != std::string::npos);
    CHECK(r.find("\nALPN=\n") != std::string::npos);
    CHECK(r.find("\nBYTES_IN=10\n") != std::string::npos);
    CHECK(r.find("\nREASON=client sent close_notify\n") != std::string::npos);
}

TEST_CASE("journal records never let a line replace the journal's own fields", "[log]") {
    std::string r = journal_record(
        4, "supervisor", "event=x priority=1 message=\"forged\" Upper=1 _hidden=2 free text");
    CHECK(r.find("PRIORITY=4\n") != std::string::npos);
    CHECK(r.find("PRIORITY=1\n") == std::string::npos);
    CHECK(r.find("\nMESSAGE=forged\n") == std::string::npos);
    CHECK(r.find("UPPER=") == std::string::npos);
    CHECK(r.find("_HIDDEN=") == std::string::npos);
    CHECK(r.find("\nEVENT=x\n") != std::string::npos);
}

TEST_CASE("journal records: MESSAGE is the escaped line, fields the values as written", "[log]") {
    std::string line = log_message("event=reload_failed reason=\"%s\" action=\"kept %s\"",
                                   "service \"server\": got \"one\"\" action=forged", "1");
    std::string r = journal_record(3, "supervisor", line);
    CHECK(r.find("\nMESSAGE=supervisor: event=reload_failed reason=\"service \\\"server\\\": got "
                 "\\\"one\\\"\\\" action=forged\" action=\"kept 1\"\n") != std::string::npos);
    CHECK(r.find("\nREASON=service \"server\": got \"one\"\" action=forged\n") !=
          std::string::npos);
    CHECK(r.find("\nACTION=kept 1\n") != std::string::npos);
    CHECK(r.find("ACTION=forged") == std::string::npos);
}

namespace {

// The fields of a record read as journald reads the native protocol.
std::vector<std::pair<std::string, std::string>> read_record(const std::string& r) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t i = 0;
    while (i < r.size()) {
        size_t nl = r.find('\n', i);
        REQUIRE(nl != std::string::npos);
        std::string line = r.substr(i, nl - i);
        size_t eq = line.find('=');
        if (eq != std::string::npos) {
            out.emplace_back(line.substr(0, eq), line.substr(eq + 1));
            i = nl + 1;
            continue;
        }
        REQUIRE(nl + 9 <= r.size());
        uint64_t len = 0;
        for (int b = 0; b < 8; ++b)
            len |= static_cast<uint64_t>(static_cast<unsigned char>(r[nl + 1 + b])) << (8 * b);
        REQUIRE(nl + 9 + len < r.size());
        out.emplace_back(line, r.substr(nl + 9, len));
        CHECK(r[nl + 9 + len] == '\n');
        i = nl + 10 + len;
    }
    return out;
}

}  // namespace

TEST_CASE("journal records: a value with a newline goes in the binary form", "[log]") {
    std::string line = log_message("event=x peer_cn=\"%s\" b=\"%s\"", "a\nEVENT=forged", "\xff");
    CHECK(line == "event=x peer_cn=\"a\\nEVENT=forged\" b=\"\\xff\"");
    std::string r = journal_record(6, "netproc", line);
    CHECK(r.find("\nPEER_CN\n") != std::string::npos);
    auto fields = read_record(r);
    std::vector<std::pair<std::string, std::string>> want = {
        {"PRIORITY", "6"},   {"SYSLOG_IDENTIFIER", "tlsward"},
        {"ROLE", "netproc"}, {"MESSAGE", "netproc: " + line},
        {"EVENT", "x"},      {"PEER_CN", "a\nEVENT=forged"},
        {"B", "\xff"}};
    CHECK(fields == want);
}
