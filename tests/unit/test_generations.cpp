// Generations: service ids kept by name across reloads and never reused,
// which generation a helper belongs to, and what a commit or an abandoned
// reload leaves.
#include <catch2/catch.hpp>
#include <string>

#include "supervisor/generations.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

PreparedService service(const std::string& name, ipc::TlsRole mode, uint32_t id = 0) {
    PreparedService s;
    s.id = id;
    s.config.name = name;
    s.config.mode = mode;
    return s;
}

PreparedConfig first_config() {
    PreparedConfig c;
    c.services.push_back(service("web", ipc::TlsRole::server, 1));
    c.services.push_back(service("api", ipc::TlsRole::server, 2));
    c.services.push_back(service("db", ipc::TlsRole::client, 3));
    c.helpers = 2;
    return c;
}

}  // namespace

TEST_CASE("generations: a service keeps its id by name and mode; new ones never reuse one",
          "[supervisor]") {
    Generations g(first_config());
    CHECK(g.active().number == 1);
    CHECK(g.pending() == nullptr);

    PreparedConfig next;
    next.services.push_back(service("db", ipc::TlsRole::client));
    next.services.push_back(service("web", ipc::TlsRole::server));
    next.services.push_back(service("db", ipc::TlsRole::server));  // same name, other mode
    next.services.push_back(service("new", ipc::TlsRole::server));
    g.assign_service_ids(next);
    CHECK(next.services[0].id == 3);
    CHECK(next.services[1].id == 1);
    CHECK(next.services[2].id == 4);
    CHECK(next.services[3].id == 5);
    g.begin(std::move(next), {}, nullptr);
    auto old = g.commit();
    REQUIRE(old);
    CHECK(old->number == 1);

    // "api" (2) is gone; a service added later does not get its id back,
    // nor one handed out to a reload that was abandoned.
    PreparedConfig abandoned;
    abandoned.services.push_back(service("tmp", ipc::TlsRole::server));
    g.assign_service_ids(abandoned);
    CHECK(abandoned.services[0].id == 6);
    g.begin(std::move(abandoned), {}, nullptr);
    g.abandon();

    PreparedConfig later;
    later.services.push_back(service("api", ipc::TlsRole::server));
    g.assign_service_ids(later);
    CHECK(later.services[0].id == 7);
}

TEST_CASE("generations: numbers only grow, an abandoned one included", "[supervisor]") {
    Generations g(first_config());
    CHECK(g.begin(first_config(), {}, nullptr).number == 2);
    g.abandon();
    CHECK(g.pending() == nullptr);
    CHECK(g.active().number == 1);
    CHECK(g.begin(first_config(), {}, nullptr).number == 3);
    REQUIRE(g.pending() != nullptr);
    g.commit();
    CHECK(g.active().number == 3);
    CHECK(g.pending() == nullptr);
}

TEST_CASE("generations: which helpers are active, pending, and whose configuration they get",
          "[supervisor]") {
    Generations g(first_config());
    ChildTable t;
    Child& one = t.add_helper(0, 1);
    CHECK(g.active_helper(one));
    CHECK_FALSE(g.pending_helper(one));
    CHECK_FALSE(g.active_helper(t.netproc()));  // netproc is no helper

    PreparedConfig next = first_config();
    next.services.resize(1);
    g.begin(std::move(next), {}, nullptr);
    Child& two = t.add_helper(0, 2);
    CHECK(g.pending_helper(two));
    CHECK_FALSE(g.active_helper(two));
    CHECK(&g.config_for(two) == &g.pending()->config);
    CHECK(&g.config_for(one) == &g.active().config);
    CHECK(&g.config_for(t.netproc()) == &g.active().config);

    // A retiring helper is neither: it is not used, nor waited for.
    two.retiring = true;
    CHECK_FALSE(g.pending_helper(two));

    two.retiring = false;
    g.commit();
    CHECK(g.active_helper(two));
    CHECK_FALSE(g.active_helper(one));  // generation 1 is the old one now
    CHECK(g.active().config.services.size() == 1);
}
