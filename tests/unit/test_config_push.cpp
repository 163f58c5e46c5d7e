// What netproc and a helper are sent for a configuration, in order, read
// back from the other end of real socketpairs: every service, every
// listening socket and the metrics socket (each with its fd), a channel to
// each helper, the closing *_CONFIG_DONE; a helper's certificates, trust
// and ticket keys. Ticket key changes reach only helpers that are up.
#include <fcntl.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "ipc/channel.hpp"
#include "supervisor/config_push.hpp"

using namespace tlsward;
using namespace tlsward::supervisor;

namespace {

constexpr pid_t kSomePid = 999999;  // never signalled

// A child's end of a control channel: the supervisor's end is in the Child.
struct Peer {
    UniqueFd end;

    std::vector<ipc::Message> read_all() {
        std::vector<ipc::Message> out;
        for (;;) {
            auto m = ipc::recv_frame(end.get());
            REQUIRE(m.ok());
            if (!m.value().has_value()) break;
            out.push_back(std::move(*m.value()));
        }
        return out;
    }
};

Peer attach(uv_loop_t* loop, Child& c) {
    auto pair = ipc::make_channel_pair();
    REQUIRE(pair.ok());
    auto& [ours, theirs] = pair.value();
    REQUIRE(ipc::set_nonblocking(theirs.get(), true).ok());
    c.pid = kSomePid;
    c.control = std::make_unique<ipc::UvChannel>(
        loop, std::move(ours), c.name(), [](ipc::Message&&) {}, [](const Error&) {});
    return Peer{std::move(theirs)};
}

std::vector<ipc::MsgType> types(const std::vector<ipc::Message>& ms) {
    std::vector<ipc::MsgType> out;
    for (const auto& m : ms) out.push_back(m.type());
    return out;
}

PreparedService service(uint32_t id, const std::string& name) {
    PreparedService s;
    s.id = id;
    s.config.name = name;
    s.target = parse_numeric_address("127.0.0.1:8080").value();
    return s;
}

ServiceListener listener(uint32_t service_id, const std::string& address) {
    auto sock = std::make_shared<ListenSocket>();
    sock->bound = sock->requested = parse_numeric_address(address).value();
    sock->fd = UniqueFd(open("/dev/null", O_RDONLY | O_CLOEXEC));
    return ServiceListener{service_id, "web", sock, true};
}

ipc::CpTicketKeys keys(uint8_t fill) {
    ipc::CpTicketKeys k;
    std::vector<uint8_t> raw(80, fill);
    k.keys.emplace_back(raw.data(), raw.size());
    return k;
}

struct Loop {
    uv_loop_t loop;
    Loop() { uv_loop_init(&loop); }
    ~Loop() {
        uv_run(&loop, UV_RUN_NOWAIT);
        uv_loop_close(&loop);
    }
};

}  // namespace

TEST_CASE("config push: netproc gets services, sockets, helper channels, then CONFIG_DONE",
          "[supervisor]") {
    Loop l;
    {
        Generation g;
        g.number = 5;
        g.config.services.push_back(service(1, "web"));
        g.config.services.push_back(service(4, "api"));
        g.config.config.global.handshake_queue_limit = 77;
        g.config.config.global.max_connections = 1234;
        g.listeners = {listener(1, "127.0.0.1:8443"), listener(4, "[::1]:9443")};
        auto metrics = MetricsSocket::bind("127.0.0.1:0");
        REQUIRE(metrics.ok());
        g.metrics = std::move(metrics.value());

        ChildTable t;
        Peer np = attach(&l.loop, t.netproc());
        Child& h0 = t.add_helper(0, 5);
        Child& h1 = t.add_helper(1, 5);
        Peer p0 = attach(&l.loop, h0);
        Peer p1 = attach(&l.loop, h1);

        push_netproc_config(*t.netproc().control, g, {&h0, &h1});
        auto got = np.read_all();
        using T = ipc::MsgType;
        REQUIRE(types(got) == std::vector<T>{T::np_service, T::np_service, T::np_listener,
                                             T::np_listener, T::np_metrics_listener, T::np_helper,
                                             T::np_helper, T::np_config_done});
        auto api = ipc::decode_message<ipc::NpService>(got[1]);
        REQUIRE(api.ok());
        CHECK(api->id == 4);
        CHECK(api->name == "api");
        auto l1 = ipc::decode_message<ipc::NpListener>(got[3]);
        REQUIRE(l1.ok());
        CHECK(l1->service_id == 4);
        CHECK(l1->address.to_string() == "[::1]:9443");
        for (size_t i : {2, 3, 4, 5, 6}) CHECK(got[i].fds.size() == 1);
        auto helper = ipc::decode_message<ipc::NpHelper>(got[6]);
        REQUIRE(helper.ok());
        CHECK(helper->slot == 1);
        CHECK(helper->generation == 5);
        auto done = ipc::decode_message<ipc::NpConfigDone>(got[7]);
        REQUIRE(done.ok());
        CHECK(done->generation == 5);
        CHECK(done->handshake_queue_limit == 77);
        CHECK(done->max_connections == 1234);

        // Each helper got the other end of its channel to netproc.
        for (Peer* p : {&p0, &p1}) {
            auto hm = p->read_all();
            REQUIRE(types(hm) == std::vector<T>{T::cp_netproc_channel});
            CHECK(hm[0].fds.size() == 1);
        }

        // A running netproc's new configuration: no helper channels, no
        // metrics socket when the configuration has none.
        g.metrics.reset();
        push_netproc_config(*t.netproc().control, g, {});
        CHECK(types(np.read_all()) == std::vector<T>{T::np_service, T::np_service, T::np_listener,
                                                     T::np_listener, T::np_config_done});
        t.netproc().pid = h0.pid = h1.pid = 0;
    }
}

TEST_CASE("config push: a helper gets its services, certificates, trust and keys", "[supervisor]") {
    Loop l;
    {
        PreparedConfig config;
        config.services.push_back(service(2, "web"));
        LoadedCertificate cert;
        cert.chain_pem = "-----BEGIN CERTIFICATE-----\n";
        std::string key = "-----BEGIN PRIVATE KEY-----\n";
        cert.key_pem = SecretBytes(reinterpret_cast<const uint8_t*>(key.data()), key.size());
        cert.names = {"www.example.com"};
        config.services[0].certificates.push_back(std::move(cert));
        config.services[0].client_ca.der = {1, 2, 3};

        ChildTable t;
        Child& h = t.add_helper(3, 8);
        Peer p = attach(&l.loop, h);
        ipc::CpTicketKeys k = keys(0x5a);
        push_helper_config(h, config, &k);
        auto got = p.read_all();
        using T = ipc::MsgType;
        REQUIRE(types(got) == std::vector<T>{T::cp_service, T::cp_certificate, T::cp_trust,
                                             T::cp_ticket_keys, T::cp_config_done});
        auto cm = ipc::decode_message<ipc::CpCertificate>(got[1]);
        REQUIRE(cm.ok());
        CHECK(cm->service_id == 2);
        CHECK(std::string(cm->key_pem.data(), cm->key_pem.data() + cm->key_pem.size()) == key);
        CHECK(cm->names == std::vector<std::string>{"www.example.com"});
        auto done = ipc::decode_message<ipc::CpConfigDone>(got[4]);
        REQUIRE(done.ok());
        CHECK(done->generation == 8);
        CHECK(done->slot == 3);

        // No keys yet: none sent.
        push_helper_config(h, config, nullptr);
        CHECK(types(p.read_all()) ==
              std::vector<T>{T::cp_service, T::cp_certificate, T::cp_trust, T::cp_config_done});
        h.pid = 0;
    }
}

TEST_CASE("config push: new ticket keys reach every helper that is up, and only those",
          "[supervisor]") {
    Loop l;
    {
        ChildTable t;
        Child& up = t.add_helper(0, 1);
        Child& down = t.add_helper(1, 1);
        Child& cut = t.add_helper(0, 2);
        Peer pu = attach(&l.loop, up);
        Peer pd = attach(&l.loop, down);
        Peer pc = attach(&l.loop, cut);
        down.pid = 0;          // exited, restart pending
        cut.control->close();  // killed, not reaped yet
        push_ticket_keys(t, keys(0x11));
        auto got = pu.read_all();
        REQUIRE(got.size() == 1);
        auto k = ipc::decode_message<ipc::CpTicketKeys>(got[0]);
        REQUIRE(k.ok());
        REQUIRE(k->keys.size() == 1);
        CHECK(k->keys[0].size() == 80);
        CHECK(pd.read_all().empty());
        CHECK(pc.read_all().empty());
        up.pid = cut.pid = 0;
    }
}
