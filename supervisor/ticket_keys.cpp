#include "supervisor/ticket_keys.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hpp"

namespace tlsward::supervisor {

namespace {

constexpr size_t kMaxKeyFile = 64 * 1024;
constexpr uint64_t kFileCheckMs = 60 * 1000;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Standard base64 with padding; the decoded bytes, or empty if malformed.
SecretBytes decode_base64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0 || text.size() > 4 * 40) return {};
    SecretBytes out(text.size() / 4 * 3);
    int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
    if (n < 0) return {};
    size_t pad = 0;
    if (text.back() == '=') ++pad;
    if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
    return SecretBytes(out.data(), static_cast<size_t>(n) - pad);
}

bool same_file(const struct stat& a, const struct stat& b) {
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

bool same_keys(const ipc::CpTicketKeys& a, const ipc::CpTicketKeys& b) {
    if (a.keys.size() != b.keys.size() || a.encrypt_index != b.encrypt_index) return false;
    for (size_t i = 0; i < a.keys.size(); ++i)
        if (!secret_equal(a.keys[i].view(), b.keys[i].view())) return false;
    return true;
}

}  // namespace

Result<ipc::CpTicketKeys> parse_ticket_key_file(std::string_view text, const std::string& path) {
    ipc::CpTicketKeys keys;
    int line_no = 0;
    while (!text.empty()) {
        ++line_no;
        size_t nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (line.empty() || line.front() == '#') continue;
        SecretBytes key = decode_base64(line);
        if (key.size() != ipc::kTicketKeyShort && key.size() != ipc::kTicketKeyLong)
            return err(
                ErrorKind::config,
                "%s:%d: not a ticket key: expected base64 of 48 or 80 random bytes (\"openssl "
                "rand -base64 80\")",
                path.c_str(), line_no);
        if (keys.keys.size() == ipc::kMaxTicketKeys)
            return err(ErrorKind::config, "%s:%d: more than %zu keys", path.c_str(), line_no,
                       ipc::kMaxTicketKeys);
        keys.keys.push_back(std::move(key));
    }
    if (keys.keys.empty())
        return err(ErrorKind::config, "%s: no ticket key in the file", path.c_str());
    size_t n = keys.keys.size();
    keys.encrypt_index = static_cast<uint8_t>(n >= 2 ? n - 2 : 0);
    return keys;
}

Result<ipc::CpTicketKeys> read_ticket_key_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err(ErrorKind::config, "%s: cannot read: %s", path.c_str(), std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<uint64_t>(st.st_size) > kMaxKeyFile) {
        ::close(fd);
        return err(ErrorKind::config, "%s: cannot read: not a regular file of at most 64 KiB",
                   path.c_str());
    }
    SecretBytes buf(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < buf.size()) {
        ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += static_cast<size_t>(n);
    }
    ::close(fd);
    return parse_ticket_key_file(std::string_view(reinterpret_cast<const char*>(buf.data()), got),
                                 path);
}

Result<SecretBytes> random_ticket_key() {
    SecretBytes k(ipc::kTicketKeyLong);
    if (RAND_priv_bytes(k.data(), static_cast<int>(k.size())) != 1)
        return err(ErrorKind::internal, "RAND_priv_bytes failed");
    return k;
}

TicketKeySource::TicketKeySource(uv_loop_t* loop, Publish publish)
    : publish_(std::move(publish)), timer_(loop, [this] { on_timer(); }) {}

TicketKeySource::~TicketKeySource() = default;

Status TicketKeySource::configure(const GlobalConfig& global, const ipc::CpTicketKeys* from_file) {
    ipc::CpTicketKeys before = keys_.clone();
    file_ = global.ticket_key_file;
    rotation_ms_ = global.ticket_key_rotation_ms;
    uint64_t lifetime = global.session_lifetime_ms;
    keep_ = rotation_ms_ == 0
                ? 2
                : static_cast<size_t>((lifetime + rotation_ms_ - 1) / rotation_ms_) + 1;
    keep_ = std::max<size_t>(2, std::min<size_t>(keep_, ipc::kMaxTicketKeys));
    timer_.stop();
    if (!file_.empty()) {
        if (!from_file)
            return err(ErrorKind::internal, "%s: the ticket key file was not read", file_.c_str());
        keys_ = from_file->clone();
        generated_ = false;
        file_failed_ = false;
        if (::stat(file_.c_str(), &file_stat_) != 0) file_stat_ = {};
        timer_.start(kFileCheckMs, kFileCheckMs);
        LOG_INFO("event=ticket_keys source=file path=%s keys=%zu", file_.c_str(),
                 keys_.keys.size());
    } else {
        // Keys read from a file earlier are not carried into generated ones.
        if (keys_.keys.empty() || !generated_) {
            keys_ = ipc::CpTicketKeys();
            auto k = random_ticket_key();
            if (!k) return k.error();
            keys_.keys.push_back(std::move(k.value()));
            keys_.encrypt_index = 0;
        }
        while (keys_.keys.size() > keep_) keys_.keys.erase(keys_.keys.begin());
        keys_.encrypt_index = static_cast<uint8_t>(keys_.keys.size() - 1);
        generated_ = true;
        timer_.start(rotation_ms_, rotation_ms_);
    }
    if (!same_keys(before, keys_) && publish_) publish_(keys_);
    return {};
}

void TicketKeySource::on_timer() {
    if (file_.empty())
        rotate();
    else
        check_file();
}

void TicketKeySource::rotate() {
    auto k = random_ticket_key();
    if (!k) {
        LOG_ERROR("event=ticket_key_rotation_failed reason=\"%s\"", k.message().c_str());
        return;
    }
    keys_.keys.push_back(std::move(k.value()));
    while (keys_.keys.size() > keep_) keys_.keys.erase(keys_.keys.begin());
    keys_.encrypt_index = static_cast<uint8_t>(keys_.keys.size() - 1);
    LOG_INFO("event=ticket_keys_rotated keys=%zu", keys_.keys.size());
    if (publish_) publish_(keys_);
}

void TicketKeySource::check_file() {
    struct stat st {};
    if (::stat(file_.c_str(), &st) == 0 && same_file(st, file_stat_) && !file_failed_) return;
    auto keys = read_ticket_key_file(file_);
    if (!keys) {
        // Keep serving with the keys we have; say so once per change.
        if (!file_failed_)
            LOG_WARN("event=ticket_key_file_unreadable reason=\"%s\" action=keep_current_keys",
                     keys.message().c_str());
        file_failed_ = true;
        file_stat_ = st;
        return;
    }
    file_failed_ = false;
    file_stat_ = st;
    if (same_keys(*keys, keys_)) return;
    keys_ = std::move(keys.value());
    LOG_INFO("event=ticket_keys source=file path=%s keys=%zu changed=1", file_.c_str(),
             keys_.keys.size());
    if (publish_) publish_(keys_);
}

}  // namespace tlsward::supervisor
