// The built tlsward-cryptoproc, end to end: started the way the supervisor
// starts it (control channel on fd 3), configured, lent a socket, and
// watched exiting on violations, on EOF and on SHUTDOWN.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "error_kind_printer.hpp"
#include "ipc/channel.hpp"
#include "ipc/handoff.hpp"
#include "ipc/messages.hpp"
#include "test_cryptoproc_support.hpp"

using namespace tlsward;
using namespace tlsward::cptest;
using ipc::MsgType;

namespace {

constexpr uint32_t kSlot = 1;
constexpr uint32_t kGeneration = 7;

bool executable(const std::string& p) {
    return access(p.c_str(), X_OK) == 0;
}

std::string helper_path() {
    if (const char* dir = std::getenv("TLSWARD_BUILD_DIR"))
        return std::string(dir) + "/tlsward-cryptoproc";
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    std::string dir = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string(".");
    dir = dir.substr(0, dir.rfind('/'));
    // The unit test binary sits in the build dir or in its tests/ folder.
    for (std::string d : {dir, dir.substr(0, dir.rfind('/'))})
        if (executable(d + "/tlsward-cryptoproc")) return d + "/tlsward-cryptoproc";
    return dir + "/tlsward-cryptoproc";
}

Result<ipc::Message> recv_within(int fd, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        auto r = ipc::recv_frame(fd);
        if (!r) return r.error();
        if (r->has_value()) return std::move(**r);
    }
    return err(ErrorKind::io, "no message within %d ms", timeout_ms);
}

template <class T>
void send_msg(int fd, const T& body, uint64_t request_id = 0, int attach = -1) {
    auto bytes = ipc::encode_body(body).value();
    auto r = ipc::send_frame(fd, T::kType, request_id, bytes, attach);
    REQUIRE(r.ok());
    REQUIRE(r.value() == ipc::SendOutcome::sent);
}

class HelperProcess {
public:
    HelperProcess() {
        std::string path = helper_path();
        REQUIRE(executable(path));
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair.ok());
        control_ = std::move(pair->first);
        UniqueFd child_end = std::move(pair->second);
        std::string parent = std::to_string(getpid());
        std::vector<std::string> args = {"tlsward: crypto[1]",
                                         "--slot",
                                         std::to_string(kSlot),
                                         "--generation",
                                         std::to_string(kGeneration),
                                         "--parent-pid",
                                         parent,
                                         "--log-level",
                                         "warn"};
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_ = fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            int fd = child_end.get();
            if (fd == 3)
                fcntl(3, F_SETFD, 0);
            else if (dup2(fd, 3) != 3)
                _exit(126);
            execv(path.c_str(), argv.data());
            _exit(127);
        }
    }
    ~HelperProcess() {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    int control() const { return control_.get(); }
    void close_control() { control_.reset(); }

    // Exit status, or -1 if it is still running after timeout_ms.
    int wait_exit(int timeout_ms = 5000) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            pid_t r = waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return -1;
    }

    // CP_SERVICE, CP_CERTIFICATE, CP_CONFIG_DONE.
    void configure(const Credentials& creds) {
        ipc::CpService svc;
        svc.id = 1;
        svc.name = "web";
        send_msg(control(), svc);
        ipc::CpCertificate cert;
        cert.service_id = 1;
        cert.chain_pem = creds.chain_pem;
        cert.key_pem = SecretBytes(as_bytes(creds.key_pem));
        send_msg(control(), cert);
        ipc::CpConfigDone done;
        done.generation = kGeneration;
        done.slot = kSlot;
        send_msg(control(), done);
    }

    void expect_ready() {
        auto m = recv_within(control());
        REQUIRE(m.ok());
        auto ready = ipc::decode_message<ipc::Ready>(*m);
        REQUIRE(ready.ok());
        CHECK(ready->role == ipc::ProcessRole::cryptoproc);
        CHECK(ready->generation == kGeneration);
        CHECK(ready->slot == kSlot);
    }

    // A new netproc channel; returns netproc's end.
    UniqueFd give_netproc_channel() {
        auto pair = ipc::make_channel_pair();
        REQUIRE(pair.ok());
        send_msg(control(), ipc::CpNetprocChannel{}, 0, pair->second.get());
        return std::move(pair->first);
    }

private:
    pid_t pid_ = -1;
    UniqueFd control_;
};

void send_job(int channel, uint64_t job_id, int sock, uint32_t service_id = 1,
              uint32_t deadline_ms = 5000) {
    ipc::HandshakeJob job;
    job.conn_id = 500 + job_id;
    job.service_id = service_id;
    job.deadline_ms = deadline_ms;
    send_msg(channel, job, job_id, sock);
}

}  // namespace

TEST_CASE("cryptoproc helper: configure, READY, handshake, ping; a violation exits 1",
          "[cryptoproc]") {
    HelperProcess helper;
    helper.configure(ecdsa_p256());
    helper.expect_ready();
    UniqueFd netproc = helper.give_netproc_channel();

    ipc::Ping ping;
    ping.seq = 5;
    send_msg(helper.control(), ping);
    auto pong = recv_within(helper.control());
    REQUIRE(pong.ok());
    auto p = ipc::decode_message<ipc::Pong>(*pong);
    REQUIRE(p.ok());
    CHECK(p->seq == 5);

    auto [c, s] = tcp_pair();
    ClientOptions o;
    o.min_version = TLS1_3_VERSION;
    o.app_data = "ping";
    TestClient client(std::move(c), o);
    send_job(netproc.get(), 77, s.get());
    auto reply = recv_within(netproc.get());
    REQUIRE(reply.ok());
    CHECK(reply->request_id() == 77);
    auto done = ipc::decode_message<ipc::HandshakeDone>(*reply);
    REQUIRE(done.ok());
    const ClientResult& cr = client.join();
    REQUIRE(cr.ok);
    CHECK(done->conn_id == 577);
    CHECK(done->helper_generation == kGeneration);
    CHECK(to_vector(done->client_secret.view()) == cr.client_traffic);
    CHECK(to_vector(done->server_secret.view()) == cr.server_traffic);
    auto path = check_data_path(*done, client, s.get(), "ping");
    INFO((path.ok() ? std::string() : path.message()));
    CHECK(path.ok());

    auto [c2, s2] = tcp_pair();
    send_job(netproc.get(), 78, s2.get(), 99);
    auto unknown = recv_within(netproc.get());
    REQUIRE(unknown.ok());
    CHECK(unknown->request_id() == 78);
    auto f = ipc::decode_message<ipc::HandshakeFailed>(*unknown);
    REQUIRE(f.ok());
    CHECK(f->reason == ipc::FailReason::unknown_service);

    // NP_CONFIG_DONE is well formed but not for a helper.
    send_msg(helper.control(), ipc::NpConfigDone{});
    CHECK(helper.wait_exit() == 1);
}

TEST_CASE("cryptoproc helper: exits 0 when the supervisor goes away", "[cryptoproc]") {
    HelperProcess helper;
    helper.configure(ecdsa_p256());
    helper.expect_ready();
    UniqueFd netproc = helper.give_netproc_channel();
    helper.close_control();
    CHECK(helper.wait_exit() == 0);
}

TEST_CASE("cryptoproc helper: a bad key fails the configuration with exit 1", "[cryptoproc]") {
    HelperProcess helper;
    Credentials mixed = ecdsa_p256();
    mixed.key_pem = rsa_2048().key_pem;
    helper.configure(mixed);
    CHECK(helper.wait_exit() == 1);
}

TEST_CASE("cryptoproc helper: a message type netproc may not send exits 1", "[cryptoproc]") {
    HelperProcess helper;
    helper.configure(ecdsa_p256());
    helper.expect_ready();
    UniqueFd netproc = helper.give_netproc_channel();
    send_msg(netproc.get(), ipc::Ping{});
    CHECK(helper.wait_exit() == 1);
}

TEST_CASE("cryptoproc helper: netproc channel replaced, failed, and SHUTDOWN drains",
          "[cryptoproc]") {
    HelperProcess helper;
    helper.configure(ecdsa_p256());
    helper.expect_ready();
    UniqueFd first = helper.give_netproc_channel();

    // A stalled job on the first channel is dropped with it, unanswered.
    auto [c1, s1] = tcp_pair();
    ClientOptions stall;
    stall.behaviour = ClientOptions::Behaviour::stall_after_hello;
    TestClient staller(std::move(c1), stall);
    send_job(first.get(), 1, s1.get(), 1, 10000);
    staller.join();
    UniqueFd second = helper.give_netproc_channel();
    auto old = recv_within(first.get());
    REQUIRE_FALSE(old.ok());
    CHECK(old.kind() == ErrorKind::peer_closed);

    // The new channel works.
    auto [c2, s2] = tcp_pair();
    TestClient client(std::move(c2), ClientOptions{});
    send_job(second.get(), 2, s2.get());
    auto reply = recv_within(second.get());
    REQUIRE(reply.ok());
    CHECK(reply->type() == MsgType::hs_done);
    REQUIRE(client.join().ok);

    // netproc dies: the helper keeps running and answers the supervisor.
    second.reset();
    ipc::Ping ping;
    ping.seq = 9;
    send_msg(helper.control(), ping);
    auto pong = recv_within(helper.control());
    REQUIRE(pong.ok());
    CHECK(pong->type() == MsgType::pong);

    // A third channel, a stalled job, SHUTDOWN: the job ends at the drain
    // deadline with a reply, then the helper exits 0.
    UniqueFd third = helper.give_netproc_channel();
    auto [c3, s3] = tcp_pair();
    TestClient staller3(std::move(c3), stall);
    send_job(third.get(), 3, s3.get(), 1, 10000);
    staller3.join();
    // The helper has the job once its ServerHello reaches the client;
    // SHUTDOWN before that would find nothing in flight and exit at once.
    pollfd answered{staller3.fd(), POLLIN, 0};
    REQUIRE(poll(&answered, 1, 5000) == 1);
    ipc::Shutdown sd;
    sd.drain_ms = 300;
    send_msg(helper.control(), sd);
    auto expired = recv_within(third.get());
    INFO((expired.ok() ? std::string() : expired.message()));
    REQUIRE(expired.ok());
    CHECK(expired->request_id() == 3);
    auto f = ipc::decode_message<ipc::HandshakeFailed>(*expired);
    REQUIRE(f.ok());
    CHECK(f->reason == ipc::FailReason::timeout);
    CHECK(helper.wait_exit() == 0);
}
