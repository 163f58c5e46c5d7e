// Test support for the crypto helper tests: certificates made on the fly,
// TCP connections on 127.0.0.1, an OpenSSL client on a thread, and a
// minimal record protector to check exported keys against the real peer.
#pragma once

#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/secret.hpp"
#include "common/tls_suites.hpp"
#include "common/unique_fd.hpp"
#include "cryptoproc/openssl_ptr.hpp"
#include "cryptoproc/tls_context.hpp"
#include "ipc/handoff.hpp"

namespace tlsward::cptest {

struct Credentials {
    std::string chain_pem;  // leaf first
    std::string key_pem;
    std::string ca_pem;  // the issuer (the leaf itself when self-signed)
};

const Credentials& ecdsa_p256();     // self-signed, CN=localhost
const Credentials& rsa_2048();       // self-signed, CN=localhost
const Credentials& ecdsa_with_ca();  // leaf signed by a test CA; chain = leaf + CA

cryptoproc::ServiceSpec server_spec(uint32_t id, const std::string& name,
                                    std::vector<const Credentials*> creds);

// A connected TCP pair on 127.0.0.1: first the client end (blocking, 5 s
// receive timeout), second the server end (non-blocking, as netproc lends it).
std::pair<UniqueFd, UniqueFd> tcp_pair();

struct ClientOptions {
    int min_version = TLS1_2_VERSION;
    int max_version = TLS1_3_VERSION;
    std::string ciphersuites;  // TLS 1.3; empty: OpenSSL's default
    std::string cipher_list;   // TLS 1.2; empty: OpenSSL's default
    std::string sni;
    uint8_t max_fragment_length = 0;  // TLSEXT_max_fragment_length_*
    std::string verify_ca_pem;        // verify the server against this CA
    // Application data written right after the handshake: in TLS 1.3 in
    // the same flight as the client's Finished.
    std::string app_data;
    // Raw bytes appended to the flight that carries the client's Finished.
    std::vector<uint8_t> raw_after_finished;
    enum class Behaviour {
        handshake,            // a normal client
        stall_after_hello,    // sends its ClientHello, then nothing
        close_mid_handshake,  // sends its ClientHello, reads the reply, closes
        garbage,              // sends `garbage` instead of a ClientHello
    } behaviour = Behaviour::handshake;
    std::vector<uint8_t> garbage;
    // TLS features.
    std::string client_chain_pem;  // present this certificate when asked
    std::string client_key_pem;
    std::vector<std::string> alpn;  // offered
    bool status_request = false;    // ask for an OCSP staple
    std::string sigalgs;            // e.g. "RSA-PSS+SHA256"; empty: OpenSSL's default
    SSL_SESSION* resume = nullptr;  // offer this session (not owned)
};

struct ClientResult {
    bool ok = false;
    std::string error;
    int version = 0;
    uint16_t suite = 0;
    std::vector<uint8_t> client_traffic;  // key log, TLS 1.3
    std::vector<uint8_t> server_traffic;
    std::vector<uint8_t> master;  // key log CLIENT_RANDOM, TLS 1.2
    std::vector<uint8_t> client_random;
    std::vector<uint8_t> server_random;
    long verify_result = -1;
    int peer_chain_length = 0;
    std::string alpn;           // the protocol the server chose
    std::vector<uint8_t> ocsp;  // the stapled OCSP response
    int peer_key_type = 0;      // EVP_PKEY_get_base_id of the server's key
    std::string peer_cn;        // subject CN of the server's certificate
    bool resumed = false;
};

// An OpenSSL client over memory BIOs on a blocking socket, run on a thread.
class TestClient {
public:
    TestClient(UniqueFd fd, ClientOptions opts);
    ~TestClient();
    const ClientResult& join();
    // After join(): receives records on the socket and returns the first
    // application data OpenSSL decrypts (tickets are processed on the way).
    Result<std::string> read_app_data();
    // After read_app_data(): the session to resume with (TLS 1.3 tickets
    // arrive after the handshake). The caller frees it.
    SSL_SESSION* take_session();
    void close_socket() { fd_.reset(); }
    int fd() const { return fd_.get(); }

private:
    void run();
    bool flush();
    bool recv_some();

    UniqueFd fd_;
    ClientOptions opts_;
    cryptoproc::SslCtxPtr ctx_;
    cryptoproc::SslPtr ssl_;
    BIO* rbio_ = nullptr;
    BIO* wbio_ = nullptr;
    ClientResult result_;
    bool finished_written_ = false;
    bool raw_sent_ = false;
    std::thread thread_;
    bool joined_ = false;
};

// An OpenSSL server on a thread over a blocking socket (the target of the
// client role): accepts, reads one message, answers "pong".
struct ServerOptions {
    const Credentials* creds = nullptr;
    std::string client_ca_pem;  // ask for (and require) a client certificate
    std::vector<std::string> alpn;
    int max_version = TLS1_3_VERSION;
};
struct ServerResult {
    bool ok = false;
    std::string error;
    std::string received;   // the first application data
    std::string client_cn;  // subject CN of the client certificate
    std::string sni;
    std::string alpn;
};
class TestServer {
public:
    TestServer(UniqueFd fd, ServerOptions opts);
    ~TestServer();
    const ServerResult& join();

private:
    void run();
    UniqueFd fd_;
    ServerOptions opts_;
    ServerResult result_;
    std::thread thread_;
    bool joined_ = false;
};

// Checks a client-role HANDSHAKE_DONE on the wire: a record sealed with
// client_secret at client_seq reaches the server as "ping"; the server's
// answer (after its tickets, if any) opens with server_secret as "pong".
Status check_client_data_path(const ipc::HandshakeDone& done, int fd, TestServer& server);

// A certificate signed by a CA, with SANs and a CN of one's choosing.
struct IssuedCredentials {
    Credentials ca;    // ca.chain_pem / ca.key_pem: the CA itself
    Credentials leaf;  // leaf.ca_pem: the CA
};
IssuedCredentials issue(const std::string& cn, const std::string& san, bool rsa = false);
// Another leaf from the same CA.
Credentials issue_from(const IssuedCredentials& ca, const std::string& cn, const std::string& san,
                       bool rsa = false);
// DER of every certificate of a PEM bundle, back to back (as CP_TRUST has it).
std::vector<uint8_t> der_of_pem(const std::string& pem);

// A loop for one test; the destructor checks every handle was closed.
class TestLoop {
public:
    TestLoop();
    ~TestLoop();
    uv_loop_t* get() { return &loop_; }
    // Runs the loop until pred() holds or timeout_ms passes.
    bool run_until(const std::function<bool()>& pred, uint64_t timeout_ms = 5000);
    // Runs the pending close callbacks; returns uv_loop_close's result.
    int close();

private:
    uv_loop_t loop_;
    bool closed_ = false;
};

// TLS records protected with the keys of a HANDSHAKE_DONE, the way netproc
// will: enough to prove the keys and sequence numbers are right.
struct RecordKeys {
    const SuiteInfo* suite = nullptr;
    std::vector<uint8_t> key;
    std::vector<uint8_t> iv;
};
Result<RecordKeys> record_keys(uint16_t suite, std::span<const uint8_t> secret);
std::vector<uint8_t> seal_record(const RecordKeys& k, uint64_t seq, uint8_t type,
                                 std::span<const uint8_t> plaintext);
// Opens the first record of `records`; returns its content type and plaintext.
Result<std::pair<uint8_t, std::vector<uint8_t>>> open_record(const RecordKeys& k, uint64_t seq,
                                                             std::span<const uint8_t> records);
// Length of the first complete record in buf, 0 if incomplete.
size_t record_length(std::span<const uint8_t> buf);

// Reads from a non-blocking fd until `want` bytes are in buf or timeout.
void read_available(int fd, std::vector<uint8_t>& buf, size_t want, int timeout_ms = 2000);

// An independent TLS 1.2 PRF (HMAC by hand) to check the helper's key block.
std::vector<uint8_t> reference_prf(const char* digest, std::span<const uint8_t> secret,
                                   const std::string& label, std::span<const uint8_t> seed,
                                   size_t length);

std::vector<uint8_t> to_vector(std::span<const uint8_t> s);

// Checks a HANDSHAKE_DONE on the wire, as netproc will use it: the client's
// first application record (from the leftover, then the socket) opens with
// client_secret at client_seq and holds `expect`; a record sealed with
// server_secret at server_seq reads back as "pong" on the client.
Status check_data_path(const ipc::HandshakeDone& done, TestClient& client, int server_fd,
                       const std::string& expect);

}  // namespace tlsward::cptest
