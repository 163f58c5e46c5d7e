// What each child is started with: everything that differs between the
// roles at start is in child_spawn_spec.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "supervisor/child_spawner.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

using Args = std::vector<std::string>;

PreparedConfig config() {
    PreparedConfig c;
    c.config.global.log_level = LogLevel::warn;
    c.config.global.netproc_nice = -5;
    c.config.global.helper_nice = 10;
    c.users.netproc.uid = 998;
    c.users.netproc.gid = 997;
    c.users.netproc.chroot_dir = "/run/tlsward/empty";
    c.users.helper.uid = 996;
    c.users.helper.gid = 995;
    c.users.helper.chroot_dir = "/run/tlsward/empty";
    return c;
}

}  // namespace

TEST_CASE("spawn spec: netproc runs as its user at netproc_nice", "[supervisor]") {
    ChildTable t;
    t.netproc().generation = 4;
    SpawnSpec s = child_spawn_spec(t.netproc(), config(), "/x/tlsward-netproc", 1234, -1);
    CHECK(s.executable == "/x/tlsward-netproc");
    CHECK(s.title == "tlsward: netproc");
    CHECK(s.args == Args{"--slot", "0", "--generation", "4", "--parent-pid", "1234", "--log-level",
                         "warn", "--nice", "-5", "--uid", "998", "--gid", "997", "--chroot",
                         "/run/tlsward/empty"});
    CHECK(s.journal_fd == -1);
    CHECK(s.control_fd == -1);  // the spawner's to set
}

TEST_CASE("spawn spec: a helper runs as the crypto user at helper_nice, never real-time",
          "[supervisor]") {
    ChildTable t;
    PreparedConfig c = config();
    c.config.global.netproc_realtime_priority = 20;
    SpawnSpec s = child_spawn_spec(t.add_helper(3, 7), c, "/x/tlsward-cryptoproc", 1234, -1);
    CHECK(s.title == "tlsward: crypto[3]");
    CHECK(s.args == Args{"--slot", "3", "--generation", "7", "--parent-pid", "1234", "--log-level",
                         "warn", "--nice", "10", "--uid", "996", "--gid", "995", "--chroot",
                         "/run/tlsward/empty"});
}

TEST_CASE("spawn spec: netproc_realtime_priority and the journal socket", "[supervisor]") {
    ChildTable t;
    PreparedConfig c = config();
    c.config.global.netproc_realtime_priority = 20;
    c.users = ChildUsers{};  // started unprivileged: no user, no chroot
    SpawnSpec s = child_spawn_spec(t.netproc(), c, "/x/tlsward-netproc", 1, 12);
    CHECK(s.args == Args{"--slot", "0", "--generation", "0", "--parent-pid", "1", "--log-level",
                         "warn", "--nice", "-5", "--realtime", "20", "--journal-fd", "4"});
    CHECK(s.journal_fd == 12);  // becomes fd 4 in the child
}
