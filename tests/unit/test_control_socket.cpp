// The control socket: owner-only, one live owner per path (a stale socket
// is replaced), requests answered now or later, the path removed on close.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <thread>

#include "supervisor/control_socket.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

struct Loop {
    uv_loop_t loop;
    Loop() { uv_loop_init(&loop); }
    ~Loop() {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
    }
};

std::string temp_dir() {
    char tmpl[] = "/tmp/tlsward-ctl-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

// Runs the loop until the client thread (which may wait on the loop's
// answers) is done.
Result<ControlAnswer> ask(uv_loop_t* loop, const std::string& path, const std::string& request) {
    std::atomic<bool> done{false};
    Result<ControlAnswer> answer = err(ErrorKind::internal, "not asked");
    std::thread t([&] {
        answer = control_request(path, request, 5000);
        done = true;
    });
    while (!done) uv_run(loop, UV_RUN_NOWAIT), usleep(1000);
    t.join();
    return answer;
}

}  // namespace

TEST_CASE("control socket: requests and answers", "[control]") {
    Loop l;
    std::string dir = temp_dir();
    std::string path = dir + "/sub/control";  // the last directory level is created
    ControlServer::Respond later;
    auto server = ControlServer::open(&l.loop, path,
                                      [&](const std::string& req, ControlServer::Respond respond) {
                                          if (req == "status")
                                              respond(true, "all fine");
                                          else if (req == "reload")
                                              later = std::move(respond);
                                          else
                                              respond(false, "unknown request");
                                      });
    REQUIRE(server.ok());

    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(stat((dir + "/sub").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    auto a = ask(&l.loop, path, "status");
    REQUIRE(a.ok());
    CHECK(a->ok);
    CHECK(a->body == "all fine\n");

    auto b = ask(&l.loop, path, "bogus");
    REQUIRE(b.ok());
    CHECK_FALSE(b->ok);
    CHECK(b->body == "unknown request\n");

    // An answer given later, from another loop callback.
    UvTimer timer(&l.loop, [&] {
        if (later) later(true, "reloaded");
    });
    timer.start(50);
    auto c = ask(&l.loop, path, "reload");
    REQUIRE(c.ok());
    CHECK(c->ok);
    CHECK(c->body == "reloaded\n");

    // A second server on the same path is refused while the first lives.
    auto second = ControlServer::open(&l.loop, path, [](const std::string&, auto) {});
    REQUIRE_FALSE(second.ok());
    CHECK(second.message().find("in use by a running process") != std::string::npos);

    server.value().reset();
    CHECK(access(path.c_str(), F_OK) != 0);
    rmdir((dir + "/sub").c_str());
    rmdir(dir.c_str());
}

TEST_CASE("control socket: a stale socket is replaced, other files are not", "[control]") {
    Loop l;
    std::string dir = temp_dir();
    std::string path = dir + "/control";
    {
        // A socket file whose owner is gone.
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        close(fd);
    }
    auto server =
        ControlServer::open(&l.loop, path, [](const std::string&, auto r) { r(true, "x"); });
    REQUIRE(server.ok());
    server.value().reset();

    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fclose(f);
    auto refused = ControlServer::open(&l.loop, path, [](const std::string&, auto) {});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.message().find("not a socket") != std::string::npos);
    unlink(path.c_str());

    CHECK_FALSE(
        ControlServer::open(&l.loop, "relative/control", [](const std::string&, auto) {}).ok());
    CHECK_FALSE(control_request(dir + "/nobody", "status", 1000).ok());
    rmdir(dir.c_str());
}
