// Reloads one at a time: one asked for meanwhile follows, several asks
// make one reload, every asker hears the outcome of the reload that served
// it, and a shutdown answers whoever still waits.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "supervisor/reload_requests.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

struct Answers {
    std::vector<std::string> seen;
    ReloadRequests::Done done(const std::string& who) {
        return [this, who](const Status& outcome, const std::string& summary) {
            seen.push_back(who + ": " + (outcome.ok() ? "ok " + summary : outcome.message()));
        };
    }
};

}  // namespace

TEST_CASE("reload requests: one runs, the ones asked meanwhile follow it as one", "[supervisor]") {
    ReloadRequests r;
    Answers a;
    CHECK(r.ask("SIGHUP", a.done("first"), 100));
    CHECK(r.running());
    CHECK(r.source() == "SIGHUP");
    CHECK(r.started_ms() == 100);

    CHECK_FALSE(r.ask("control", a.done("second"), 150));
    CHECK_FALSE(r.ask("SIGHUP", nullptr, 160));
    CHECK_FALSE(r.ask("control", a.done("third"), 170));
    CHECK(r.source() == "SIGHUP");  // the running one's

    r.succeeded("generation 2");
    CHECK(a.seen == std::vector<std::string>{"first: ok generation 2"});
    CHECK_FALSE(r.running());

    CHECK(r.start_queued(300));
    CHECK(r.running());
    CHECK(r.source() == "control");  // the last ask's
    CHECK(r.started_ms() == 300);
    CHECK_FALSE(r.start_queued(310));  // nothing more queued

    r.failed(Error{ErrorKind::config, "t.toml: line 3: bad"});
    CHECK(a.seen == std::vector<std::string>{"first: ok generation 2",
                                             "second: t.toml: line 3: bad",
                                             "third: t.toml: line 3: bad"});
    CHECK_FALSE(r.start_queued(400));
    CHECK(r.succeeded_count() == 1);
    CHECK(r.failed_count() == 1);
    CHECK(r.last_error() == "t.toml: line 3: bad");
}

TEST_CASE("reload requests: a shutdown answers the running and the queued askers", "[supervisor]") {
    ReloadRequests r;
    Answers a;
    CHECK(r.ask("control", a.done("running"), 0));
    CHECK_FALSE(r.ask("control", a.done("queued"), 1));
    r.cancel(Error{ErrorKind::internal, "shutting down"});
    CHECK(a.seen == std::vector<std::string>{"running: shutting down", "queued: shutting down"});
    CHECK_FALSE(r.running());
    CHECK_FALSE(r.start_queued(2));
    // Neither counts as a reload that failed.
    CHECK(r.failed_count() == 0);
    CHECK(r.last_error().empty());
}

TEST_CASE("reload requests: an asker hears only its own reload's outcome", "[supervisor]") {
    ReloadRequests r;
    Answers a;
    CHECK(r.ask("control", a.done("a"), 0));
    r.failed(Error{ErrorKind::io, "bind: in use"});
    CHECK(r.ask("control", a.done("b"), 10));
    r.succeeded("generation 2");
    CHECK(a.seen == std::vector<std::string>{"a: bind: in use", "b: ok generation 2"});
    // The last error stays for "tlsward status" after a reload that worked.
    CHECK(r.last_error() == "bind: in use");
}
