// Journal records: every key=value of a log line becomes a field.
#include <catch2/catch.hpp>
#include <string>

#include "common/journal_log.hpp"

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
