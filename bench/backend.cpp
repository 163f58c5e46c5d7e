// backend: the plaintext service behind the server under test (see
// protocol.hpp): echo, upload sink with acknowledgements, download source.
// One libuv loop; prints "listening ADDR:PORT" on stdout once it accepts
// (with port 0 the kernel's choice), runs until SIGINT or SIGTERM.
#include <netinet/in.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/bulk_loop.hpp"
#include "bench/measuring_priority.hpp"
#include "bench/modes.hpp"
#include "bench/protocol.hpp"

namespace tlsward::bench {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
constexpr size_t kEchoHighWater = 4 << 20;  // stop reading while this much echo is queued
constexpr size_t kSourceQueue = 1 << 20;    // keep this much of the download queued
uint8_t g_read_buf[kReadChunk];
uint8_t g_acks[256];

struct Conn {
    uv_tcp_t tcp{};
    uint8_t mode = 0;
    uint64_t uploaded = 0;  // 'U': bytes after the mode byte
    uint64_t acked = 0;     // 'U': acknowledgements sent
    bool reading = true;
    bool closing = false;
};

struct Write {
    uv_write_t req;
    Conn* conn;
    uint8_t data[1];  // echo copies follow; empty for static data
};

void close_conn(Conn* c) {
    if (c->closing) return;
    c->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
             [](uv_handle_t* h) { delete static_cast<Conn*>(h->data); });
}

void on_alloc(uv_handle_t*, size_t, uv_buf_t* b) {
    b->base = reinterpret_cast<char*>(g_read_buf);
    b->len = sizeof g_read_buf;
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);

void fill_source(Conn* c);

void on_write(uv_write_t* req, int status) {
    auto* w = reinterpret_cast<Write*>(req);
    Conn* c = w->conn;
    std::free(w);
    if (c->closing) return;
    if (status != 0) return close_conn(c);
    if (c->mode == kModeDownload) return fill_source(c);
    if (c->mode == kModeEcho && !c->reading && c->tcp.write_queue_size < kEchoHighWater / 4) {
        c->reading = true;
        uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
    }
}

// Queues `len` bytes; copies them unless `stable` (static data).
bool send(Conn* c, const uint8_t* p, size_t len, bool stable) {
    auto* stream = reinterpret_cast<uv_stream_t*>(&c->tcp);
    if (c->tcp.write_queue_size == 0) {
        uv_buf_t b = uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(p)),
                                 static_cast<unsigned>(len));
        int n = uv_try_write(stream, &b, 1);
        if (n == static_cast<int>(len)) return true;
        if (n < 0 && n != UV_EAGAIN) return false;
        if (n > 0) {
            p += n;
            len -= static_cast<size_t>(n);
        }
    }
    auto* w = static_cast<Write*>(std::malloc(sizeof(Write) + (stable ? 0 : len)));
    if (w == nullptr) std::abort();
    w->conn = c;
    const uint8_t* src = p;
    if (!stable) {
        std::memcpy(w->data, p, len);
        src = w->data;
    }
    uv_buf_t b =
        uv_buf_init(reinterpret_cast<char*>(const_cast<uint8_t*>(src)), static_cast<unsigned>(len));
    if (uv_write(&w->req, stream, &b, 1, on_write) != 0) {
        std::free(w);
        return false;
    }
    return true;
}

void fill_source(Conn* c) {
    while (!c->closing && c->tcp.write_queue_size < kSourceQueue)
        if (!send(c, pattern_block(), kPatternSize, true)) return close_conn(c);
}

void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(s->data);
    if (nread < 0) return close_conn(c);
    if (nread == 0) return;
    const auto* p = reinterpret_cast<const uint8_t*>(buf->base);
    auto n = static_cast<size_t>(nread);
    if (c->mode == 0) {
        c->mode = p[0];
        ++p;
        --n;
        if (c->mode == kModeDownload)
            fill_source(c);
        else if (c->mode != kModeEcho && c->mode != kModeUpload)
            return close_conn(c);
    }
    if (n == 0 || c->closing) return;
    if (c->mode == kModeEcho) {
        if (!send(c, p, n, false)) return close_conn(c);
        if (c->tcp.write_queue_size > kEchoHighWater) {
            c->reading = false;
            uv_read_stop(s);
        }
    } else if (c->mode == kModeUpload) {
        c->uploaded += n;
        uint64_t due = c->uploaded / kAckUnit - c->acked;
        while (due > 0) {
            size_t k = due > sizeof g_acks ? sizeof g_acks : static_cast<size_t>(due);
            if (!send(c, g_acks, k, true)) return close_conn(c);
            c->acked += k;
            due -= k;
        }
    }
    // kModeDownload: whatever the client sends is ignored.
}

void on_connection(uv_stream_t* server, int status) {
    if (status != 0) return;
    auto* c = new Conn();
    uv_tcp_init(server->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) return close_conn(c);
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
}

}  // namespace

Status run_backend(const Options& o) {
    std::memset(g_acks, kAckByte, sizeof g_acks);
    pattern_block();
    uv_loop_t* loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    server.data = nullptr;
    if (int r = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&o.addr), 0); r != 0)
        return err(ErrorKind::io, "bind %s: %s", o.address.c_str(), uv_strerror(r));
    if (int r = uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4096, on_connection); r != 0)
        return err(ErrorKind::io, "listen %s: %s", o.address.c_str(), uv_strerror(r));
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
    char host[64] = "?";
    int port = 0;
    if (bound.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&bound);
        uv_ip6_name(a, host, sizeof host);
        port = ntohs(a->sin6_port);
        std::printf("listening [%s]:%d\n", host, port);
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&bound);
        uv_ip4_name(a, host, sizeof host);
        port = ntohs(a->sin_port);
        std::printf("listening %s:%d\n", host, port);
    }
    std::fflush(stdout);
    if (o.realtime) {
        // The loop thread, which serves every connection.
        if (int e = enter_measuring_priority(); e != 0)
            std::fprintf(stderr, "backend: SCHED_FIFO refused (%s); normal priority\n",
                         std::strerror(e));
    }

    uv_signal_t sigint;
    uv_signal_t sigterm;
    for (auto [sig, h] : {std::pair{SIGINT, &sigint}, std::pair{SIGTERM, &sigterm}}) {
        uv_signal_init(loop, h);
        uv_signal_start(
            h, [](uv_signal_t* s, int) { uv_stop(s->loop); }, sig);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    // Close everything (connections free themselves) so leak checkers see nothing.
    uv_walk(
        loop,
        [](uv_handle_t* h, void*) {
            if (uv_is_closing(h)) return;
            if (h->type == UV_TCP && h->data != nullptr)
                close_conn(static_cast<Conn*>(h->data));
            else
                uv_close(h, nullptr);
        },
        nullptr);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return {};
}

}  // namespace tlsward::bench
