#include "netproc/record_pump.hpp"

#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace tlsward::netproc {

namespace {

// Records filled by one recvmsg from the plain side at most (a 128 KiB
// block holds seven full ones; small records at the start of a burst are
// more).
constexpr size_t kRecordsPerRead = 8;
// Rounds of opening records and draining plaintext in one turn.
constexpr int kInboundRounds = 8;

bool transient(int e) {
    return e == EAGAIN || e == EWOULDBLOCK || e == EINTR;
}

}  // namespace

RecordPump::RecordPump(const Context& ctx, int tls_fd, std::unique_ptr<RecordLayer> records,
                       uint64_t now_ms)
    : tls_fd_(tls_fd),
      records_(std::move(records)),
      tls_in_(ctx.buffers),
      plain_out_(ctx.buffers),
      tls_out_(ctx.buffers),
      counters_(ctx.counters),
      record_sizes_(ctx.record_sizes),
      gate_(ctx.gate),
      link_(ctx.link),
      sizer_(*ctx.link),
      last_activity_ms_(now_ms),
      client_mode_(ctx.client_mode) {
    keys_.start(now_ms);
}

void RecordPump::start(int plain_fd, uint64_t now_ms) {
    plain_fd_ = plain_fd;
    started_ = true;
    last_activity_ms_ = now_ms;
    // Bytes the helper read past the handshake are the first records.
    pump_inbound(now_ms);
}

void RecordPump::on_tls_ready(int events, uint64_t now_ms) {
    if (ended_) return;
    if (events & UV_WRITABLE) flush_tls();
    if (ended_) return;
    if (events & (UV_READABLE | UV_DISCONNECT)) read_tls(now_ms);
}

void RecordPump::on_plain_ready(int events, uint64_t now_ms) {
    if (ended_ || !started_) return;
    if (events & UV_WRITABLE) pump_inbound(now_ms);
    if (ended_) return;
    if (events & (UV_READABLE | UV_DISCONNECT)) read_plain(now_ms);
}

bool RecordPump::finished() const {
    if (!started_ || failing_ || ended_) return false;
    bool inbound_done = tls_read_done_ && plain_write_shut_;
    bool outbound_done = plain_read_done_ && tls_write_shut_;
    return inbound_done && outbound_done;
}

void RecordPump::end(CloseReason why) {
    if (ended_) return;
    ended_ = true;
    reason_ = std::move(why);
}

void RecordPump::seal_close_notify() {
    if (close_notify_sent_ || !records_->can_write()) return;
    (void)records_->seal_alert(Alert::close_notify, tls_out_);
    close_notify_sent_ = true;
}

void RecordPump::close_notify_and_fail(CloseReason why) {
    if (ended_) return;
    seal_close_notify();
    fail(std::move(why));
}

void RecordPump::fail(CloseReason why) {
    if (ended_) return;
    failing_ = true;
    reason_ = std::move(why);
    flush_tls();
}

void RecordPump::read_tls(uint64_t now_ms) {
    if (tls_read_done_ || failing_) return;
    auto w = tls_in_.writable(1);
    if (w.empty()) return;
    size_t allowed = gate_ ? gate_->allowance(Direction::read, w.size()) : w.size();
    if (allowed == 0) return;  // out of tokens: reads resume when the gate wakes us
    ssize_t n = recv(tls_fd_, w.data(), allowed, MSG_DONTWAIT);
    if (n > 0) {
        if (gate_) gate_->consumed(Direction::read, static_cast<size_t>(n));
        tls_in_.commit(static_cast<size_t>(n));
        last_activity_ms_ = now_ms;
        pump_inbound(now_ms);
        return;
    }
    if (n < 0 && transient(errno)) return;
    if (n < 0 && errno != ECONNRESET) {
        end({CloseKind::io_error, strfmt("recv from %s: %s", tls_side(), strerror(errno))});
        return;
    }
    // EOF or reset without close_notify: the peer is gone mid-stream. What
    // it sent is delivered; a partial record is lost (and logged).
    tls_read_done_ = true;
    if (n < 0) {
        end({CloseKind::io_error, strfmt("reset by %s", tls_side())});
        return;
    }
    reason_ = CloseReason{CloseKind::peer_closed,
                          strfmt(tls_in_.empty() ? "%s closed without close_notify"
                                                 : "%s closed inside a record (truncated)",
                                 tls_side())};
    tls_in_.consume(tls_in_.size());
    pump_inbound(now_ms);
}

void RecordPump::pump_inbound(uint64_t now_ms) {
    // Opening records and draining plaintext to the plain side alternate: a
    // drained plain_out_ makes room for records still waiting in tls_in_.
    // Bounded rounds keep one connection's turn short.
    for (int round = 0; round < kInboundRounds; ++round) {
        bool opened = false;
        if (!failing_ && !tls_read_done_ && !tls_in_.empty()) {
            size_t before = tls_in_.size();
            auto r = records_->read_records(tls_in_, plain_out_, tls_out_);
            bytes_from_tls_ += r.app_bytes;
            counters_->bytes_from_tls += r.app_bytes;
            keys_.in_bytes += r.app_bytes;
            if (records_->stats().key_updates_in != peer_updates_seen_) {
                counters_->key_updates_received +=
                    records_->stats().key_updates_in - peer_updates_seen_;
                peer_updates_seen_ = records_->stats().key_updates_in;
                keys_.peer_rotated(now_ms);
            }
            opened = tls_in_.size() != before;
            if (r.outcome == RecordLayer::ReadOutcome::close_notify) {
                tls_read_done_ = true;
                if (!reason_)
                    reason_ = CloseReason{CloseKind::close_notify,
                                          strfmt("%s sent close_notify", tls_side())};
                tls_in_.consume(tls_in_.size());
            } else if (r.outcome == RecordLayer::ReadOutcome::fatal) {
                // The record layer sealed the alert already (none for one received).
                if (r.from_peer)
                    fail({CloseKind::alert_received,
                          strfmt("%s sent alert %s", tls_side(), alert_name(r.alert))});
                else
                    fail({CloseKind::alert_sent, strfmt("protocol error, sent alert %s: %s",
                                                        alert_name(r.alert), r.detail.c_str())});
                return;
            }
        }
        if (!started_) break;  // the plain side is not connected yet: plaintext waits
        bool drained = false;
        while (!plain_out_.empty()) {
            auto data = plain_out_.readable();
            ssize_t n = send(plain_fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (transient(errno)) break;
                end({CloseKind::io_error, strfmt("send to %s: %s", plain_side(), strerror(errno))});
                return;
            }
            plain_out_.consume(static_cast<size_t>(n));
            drained = true;
        }
        // Go on while something moved and the plain side still takes bytes:
        // a drained plain_out_ is room for the records waiting in tls_in_.
        if (!plain_out_.empty() || tls_in_.empty() || (!opened && !drained)) break;
    }
    if (started_ && plain_out_.empty() && tls_read_done_ && !plain_write_shut_) {
        // The TLS peer is done and all it sent is delivered: pass the
        // half-close on.
        shutdown(plain_fd_, SHUT_WR);
        plain_write_shut_ = true;
    }
    maybe_rotate_keys(now_ms);
    flush_tls();
}

size_t RecordPump::next_record_size(uint64_t now_ms) {
    return sizer_.next(now_ms, records_->overhead(), records_->max_plaintext());
}

void RecordPump::read_plain(uint64_t now_ms) {
    if (plain_read_done_ || failing_ || !records_->can_write()) return;
    const size_t overhead = records_->overhead();
    const size_t prefix = records_->prefix_len();
    const size_t size = next_record_size(now_ms);
    const size_t slot = size + overhead;
    const size_t reserve = RecordLayer::reserve_for_control();
    auto w = tls_out_.writable(slot + reserve);
    if (w.size() < slot + reserve) {
        flush_tls();
        return;
    }
    // recvmsg fills the payloads of several records laid out back to back
    // in tls_out_, each sealed in place afterwards: one system call per up
    // to kRecordsPerRead records rather than one per record. Records are not
    // padded, so a sealed record ends exactly where the next slot begins.
    // Reading goes on until the plain side has nothing more queued, so that
    // several small writes become one record; but one batch per turn, so
    // one busy connection cannot hold the loop (the poll fires again while
    // data is waiting).
    const size_t slots = std::min(kRecordsPerRead, (w.size() - reserve) / slot);
    const size_t room = slots * size;
    size_t got = 0;
    bool eof = false;
    int error = 0;
    while (got < room) {
        std::array<iovec, kRecordsPerRead> iov{};
        size_t first = got / size;
        size_t count = 0;
        for (size_t i = first; i < slots; ++i) {
            size_t skip = i == first ? got % size : 0;
            iov[count++] = {w.data() + i * slot + prefix + skip, size - skip};
        }
        msghdr msg{};
        msg.msg_iov = iov.data();
        msg.msg_iovlen = count;
        ssize_t n = recvmsg(plain_fd_, &msg, MSG_DONTWAIT);
        if (n > 0) {
            got += static_cast<size_t>(n);
            continue;
        }
        if (n == 0 || !transient(errno)) {
            eof = true;
            error = n == 0 ? 0 : errno;
        }
        break;
    }
    const bool moved = got > 0;
    while (got > 0) {
        size_t len = std::min(got, size);
        auto s = records_->seal_in_place(tls_out_, len);
        if (!s) {
            end({CloseKind::internal, "sealing a record: " + s.message()});
            return;
        }
        got -= len;
        sizer_.sent(len, now_ms);
        if (record_sizes_) record_sizes_->observe(len);
        bytes_to_tls_ += len;
        keys_.out_bytes += len;
        counters_->bytes_to_tls += len;
    }
    if (moved) {
        last_activity_ms_ = now_ms;
        // After the batch, not between its records: a KeyUpdate appended
        // mid-batch would land on the next record's slot.
        maybe_rotate_keys(now_ms);
        if (ended_ || failing_) return;
    }
    if (eof) {
        // The plain side is done; what was read goes out with close_notify.
        if (!reason_)
            reason_ = error != 0
                          ? CloseReason{CloseKind::io_error,
                                        strfmt("%s: %s", plain_side(), strerror(error))}
                          : CloseReason{CloseKind::peer_closed, strfmt("%s closed", plain_side())};
        plain_read_done_ = true;
        seal_close_notify();
    }
    flush_tls();
}

void RecordPump::maybe_rotate_keys(uint64_t now_ms) {
    if (ended_ || failing_ || !records_->can_write()) return;
    Rotation r = rotation_due(RotationPolicy::from(*link_), keys_, now_ms,
                              records_->version() == kTls13, records_->write_key_exhausted());
    if (r == Rotation::none) return;
    if (r == Rotation::close) {
        // TLS 1.2 cannot rekey: end the connection cleanly at the limit.
        close_notify_and_fail({CloseKind::key_limit, "TLS 1.2 key usage limit reached"});
        return;
    }
    auto s = records_->send_key_update(r == Rotation::update_and_request, tls_out_);
    if (!s) {
        end({CloseKind::internal, "KeyUpdate: " + s.message()});
        return;
    }
    ++counters_->key_updates_sent;
    rotated(keys_, r, now_ms);
}

void RecordPump::flush_tls() {
    if (ended_) return;
    // A closing alert goes out whatever the limits say.
    WireGate* gate = failing_ ? nullptr : gate_;
    while (!tls_out_.empty()) {
        auto data = tls_out_.readable();
        size_t allowed = gate ? gate->allowance(Direction::write, data.size()) : data.size();
        if (allowed == 0) return;  // writes resume when the gate wakes us
        ssize_t n = send(tls_fd_, data.data(), allowed, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (transient(errno)) return;
            end(failing_ ? *reason_
                         : CloseReason{CloseKind::io_error,
                                       strfmt("send to %s: %s", tls_side(), strerror(errno))});
            return;
        }
        if (gate) gate->consumed(Direction::write, static_cast<size_t>(n));
        tls_out_.consume(static_cast<size_t>(n));
    }
    if (failing_) {
        end(*reason_);
        return;
    }
    if (close_notify_sent_ && !tls_write_shut_) {
        shutdown(tls_fd_, SHUT_WR);
        tls_write_shut_ = true;
    }
}

RecordPump::Interest RecordPump::interest(uint64_t now_ms) {
    Interest want;
    if (ended_) return want;
    if (!tls_read_done_ && !failing_ && tls_in_.free_space() > 0 &&
        !(gate_ && gate_->waiting(Direction::read)))
        want.tls |= UV_READABLE;
    if (!tls_out_.empty() && (failing_ || !(gate_ && gate_->waiting(Direction::write))))
        want.tls |= UV_WRITABLE;
    if (started_ && !failing_) {
        const size_t need =
            next_record_size(now_ms) + records_->overhead() + RecordLayer::reserve_for_control();
        if (!plain_read_done_ && records_->can_write() && tls_out_.free_space() >= need)
            want.plain |= UV_READABLE;
        if (!plain_out_.empty()) want.plain |= UV_WRITABLE;
    }
    return want;
}

void RecordPump::release_idle_memory() {
    // Buffers went back to the pool as they emptied; the AEAD contexts go
    // too once nothing at all is waiting (idle connections are the many).
    if (tls_in_.empty() && tls_out_.empty() && plain_out_.empty()) records_->release_idle_memory();
}

}  // namespace tlsward::netproc
