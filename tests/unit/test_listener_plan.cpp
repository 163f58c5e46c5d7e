// Which listening socket serves which service, at start and across
// reloads: kept by service and address, moved with an address, taken from
// systemd by name or address, bound only when new.
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "supervisor/listener_plan.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

PreparedService service(uint32_t id, const std::string& name, std::vector<std::string> listen) {
    PreparedService s;
    s.id = id;
    s.config.name = name;
    for (const std::string& l : listen) s.listen.push_back(parse_numeric_address(l).value());
    return s;
}

// Binds nothing: hands out /dev/null descriptors, and port 40000+n for a
// port 0 request, like the kernel would pick one.
struct FakeBind {
    int calls = 0;
    std::string fail_on;
    BindFn fn() {
        return [this](const SocketAddress& a) -> Result<BoundListener> {
            ++calls;
            if (a.to_string() == fail_on)
                return err(ErrorKind::io, "listen %s: bind: in use", fail_on.c_str());
            BoundListener b;
            std::string text = a.to_string();
            if (a.port() == 0)
                text = text.substr(0, text.rfind(':')) + ":" + std::to_string(40000 + calls);
            b.address = parse_numeric_address(text).value();
            b.fd = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
            return b;
        };
    }
};

std::shared_ptr<ListenSocket> systemd_socket(const std::string& name, const std::string& addr) {
    auto s = std::make_shared<ListenSocket>();
    s->bound = s->requested = parse_numeric_address(addr).value();
    s->fd = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    s->from_systemd = true;
    s->systemd_name = name;
    return s;
}

}  // namespace

TEST_CASE("listener plan: a reload keeps what is still configured", "[listener_plan]") {
    FakeBind bind;
    PreparedConfig first;
    first.services.push_back(service(1, "web", {"127.0.0.1:0"}));
    first.services.push_back(service(2, "api", {"127.0.0.1:8443"}));
    auto start = plan_listeners(first, {}, {}, bind.fn());
    REQUIRE(start.ok());
    REQUIRE(start->size() == 2);
    CHECK(bind.calls == 2);
    CHECK(start.value()[0].newly_bound);
    CHECK(start.value()[0].socket->bound.to_string() == "127.0.0.1:40001");

    SECTION("the same configuration binds nothing, port 0 included") {
        auto again = plan_listeners(first, start.value(), {}, bind.fn());
        REQUIRE(again.ok());
        CHECK(bind.calls == 2);
        REQUIRE(again->size() == 2);
        CHECK(again.value()[0].socket == start.value()[0].socket);
        CHECK(again.value()[1].socket == start.value()[1].socket);
        CHECK_FALSE(again.value()[0].newly_bound);
    }
    SECTION("a new service binds its address only") {
        PreparedConfig more;
        more.services.push_back(service(1, "web", {"127.0.0.1:0"}));
        more.services.push_back(service(2, "api", {"127.0.0.1:8443"}));
        more.services.push_back(service(3, "mail", {"127.0.0.1:2525"}));
        auto plan = plan_listeners(more, start.value(), {}, bind.fn());
        REQUIRE(plan.ok());
        CHECK(bind.calls == 3);
        REQUIRE(plan->size() == 3);
        CHECK(plan.value()[2].service_id == 3);
        CHECK(plan.value()[2].newly_bound);
    }
    SECTION("an address moved to another service keeps its socket") {
        PreparedConfig moved;
        moved.services.push_back(service(1, "web", {"127.0.0.1:0"}));
        moved.services.push_back(service(4, "api2", {"127.0.0.1:8443"}));
        auto plan = plan_listeners(moved, start.value(), {}, bind.fn());
        REQUIRE(plan.ok());
        CHECK(bind.calls == 2);
        CHECK(plan.value()[1].socket == start.value()[1].socket);
        CHECK(plan.value()[1].service_name == "api2");
    }
    SECTION("a service renamed with port 0 gets a new port") {
        PreparedConfig renamed;
        renamed.services.push_back(service(5, "www", {"127.0.0.1:0"}));
        auto plan = plan_listeners(renamed, start.value(), {}, bind.fn());
        REQUIRE(plan.ok());
        CHECK(bind.calls == 3);
        CHECK(plan.value()[0].socket != start.value()[0].socket);
    }
    SECTION("a bind failure changes nothing and names the service") {
        PreparedConfig more;
        more.services.push_back(service(1, "web", {"127.0.0.1:0"}));
        more.services.push_back(service(2, "api", {"127.0.0.1:8443"}));
        more.services.push_back(service(3, "mail", {"127.0.0.1:2525", "127.0.0.1:2526"}));
        bind.fail_on = "127.0.0.1:2526";
        auto plan = plan_listeners(more, start.value(), {}, bind.fn());
        REQUIRE_FALSE(plan.ok());
        CHECK(plan.message() == "service \"mail\": listen 127.0.0.1:2526: bind: in use");
        CHECK(start.value()[0].socket.use_count() == 1);
    }
}

TEST_CASE("listener plan: systemd's sockets by name, then by address", "[listener_plan]") {
    FakeBind bind;
    PreparedConfig config;
    config.services.push_back(service(1, "web", {"127.0.0.1:443"}));
    config.services.push_back(service(2, "api", {"127.0.0.1:8443"}));
    config.services.push_back(service(3, "mail", {"127.0.0.1:25"}));
    std::vector<std::shared_ptr<ListenSocket>> inherited = {
        systemd_socket("web", "0.0.0.0:443"), systemd_socket("web", "[::]:443"),
        systemd_socket("unknown", "127.0.0.1:8443"), systemd_socket("unknown", "127.0.0.1:9999")};
    auto plan = plan_listeners(config, {}, inherited, bind.fn());
    REQUIRE(plan.ok());
    REQUIRE(plan->size() == 4);
    // "web" takes both sockets named after it and binds nothing itself.
    CHECK(plan.value()[0].socket == inherited[0]);
    CHECK(plan.value()[1].socket == inherited[1]);
    CHECK(plan.value()[0].service_id == 1);
    // "api" takes the unnamed socket bound to its address.
    CHECK(plan.value()[2].socket == inherited[2]);
    // "mail" has no socket from systemd: it binds.
    CHECK(plan.value()[3].newly_bound);
    CHECK(bind.calls == 1);
    auto unused = unused_inherited(plan.value(), inherited);
    REQUIRE(unused.size() == 1);
    CHECK(unused[0] == inherited[3]);

    // A reload keeps using them (never binds what systemd gave).
    auto again = plan_listeners(config, plan.value(), inherited, bind.fn());
    REQUIRE(again.ok());
    CHECK(bind.calls == 1);
    CHECK(again.value()[0].socket == inherited[0]);
}
