// A main() for the libFuzzer targets when they are built without libFuzzer
// (g++, the normal and the sanitizer builds): `make check` runs each target
// through CTest for a few seconds with no clang and no extra build.
//
//   fuzz_smoke_NAME SECONDS CORPUS_DIR [SEED]
//
// It replays every seed of the checked-in corpus, then runs random
// mutations of them (bit flips, byte changes, inserts, erases, copies,
// splices, boundary values, stacked 1..8 deep) until SECONDS have passed.
// No coverage guidance, so it finds less than `make fuzz` does; what it
// guarantees is that every target and its corpus still run clean, under
// ASan and UBSan in build-asan. The mutations follow SEED (printed), so a
// failure is reproducible; the input being run when a sanitizer or an
// abort ends the process is written to ./fuzz-crash-NAME for replay with
// `fuzz_smoke_NAME 0 DIR_WITH_THAT_FILE` or the libFuzzer build.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#if defined(__SANITIZE_ADDRESS__)
extern "C" void __sanitizer_set_death_callback(void (*callback)(void));
#endif

namespace {

using Bytes = std::vector<uint8_t>;
constexpr size_t kMaxInput = 64 * 1024;

// What is running now, for the crash file. Written from a signal handler
// or the sanitizer's death callback, so only plain data and write(2).
const uint8_t* g_current = nullptr;
size_t g_current_size = 0;
char g_crash_path[256] = "fuzz-crash";

void save_current_input() {
    if (g_current == nullptr) return;
    int fd = ::open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    size_t off = 0;
    while (off < g_current_size) {
        ssize_t n = ::write(fd, g_current + off, g_current_size - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
    }
    ::close(fd);
    static const char msg[] = "fuzz smoke: the failing input is in ";
    (void)!::write(2, msg, sizeof msg - 1);
    (void)!::write(2, g_crash_path, std::strlen(g_crash_path));
    (void)!::write(2, "\n", 1);
}

void on_fatal_signal(int sig) {
    save_current_input();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void run_one(const Bytes& input) {
    g_current = input.data();
    g_current_size = input.size();
    LLVMFuzzerTestOneInput(input.data(), input.size());
    g_current = nullptr;
}

std::vector<Bytes> load_corpus(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());  // same order, same run
    std::vector<Bytes> corpus;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (b.size() > kMaxInput) b.resize(kMaxInput);
        corpus.push_back(std::move(b));
    }
    return corpus;
}

class Mutator {
public:
    Mutator(const std::vector<Bytes>& corpus, uint64_t seed) : corpus_(corpus), rng_(seed) {}

    Bytes next() {
        Bytes b = corpus_.empty() ? Bytes{} : corpus_[below(corpus_.size())];
        size_t depth = 1 + below(8);
        for (size_t i = 0; i < depth; ++i) mutate(b);
        if (b.size() > kMaxInput) b.resize(kMaxInput);
        return b;
    }

private:
    size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
    uint8_t byte() { return static_cast<uint8_t>(rng_()); }

    void mutate(Bytes& b) {
        static const uint16_t kBoundaries[] = {0,      1,      2,      0x7f,   0x80,   0xff,
                                               0x100,  0x3fff, 0x4000, 0x4001, 0x4100, 0x4101,
                                               0x7fff, 0x8000, 0xfffe, 0xffff};
        switch (below(b.empty() ? 1 : 8)) {
            case 0: {  // insert 1..8 random bytes
                size_t at = below(b.size() + 1);
                size_t n = 1 + below(8);
                Bytes ins(n);
                for (auto& x : ins) x = byte();
                b.insert(b.begin() + static_cast<long>(at), ins.begin(), ins.end());
                break;
            }
            case 1:  // flip a bit
                b[below(b.size())] ^= static_cast<uint8_t>(1u << below(8));
                break;
            case 2:  // a random byte
                b[below(b.size())] = byte();
                break;
            case 3: {  // erase a range
                size_t at = below(b.size());
                size_t n = 1 + below(std::min<size_t>(b.size() - at, 64));
                b.erase(b.begin() + static_cast<long>(at), b.begin() + static_cast<long>(at + n));
                break;
            }
            case 4: {  // copy a range elsewhere (repeats structures)
                size_t from = below(b.size());
                size_t n = 1 + below(std::min<size_t>(b.size() - from, 256));
                Bytes chunk(b.begin() + static_cast<long>(from),
                            b.begin() + static_cast<long>(from + n));
                size_t at = below(b.size() + 1);
                b.insert(b.begin() + static_cast<long>(at), chunk.begin(), chunk.end());
                break;
            }
            case 5: {  // splice: our head, another seed's tail
                const Bytes& other = corpus_[below(corpus_.size())];
                size_t keep = below(b.size() + 1);
                size_t from = below(other.size() + 1);
                b.resize(keep);
                b.insert(b.end(), other.begin() + static_cast<long>(from), other.end());
                break;
            }
            case 6: {  // a boundary value, 8 or 16 bits, big-endian
                uint16_t v = kBoundaries[below(std::size(kBoundaries))];
                size_t at = below(b.size());
                if (at + 1 < b.size() && below(2) == 0) {
                    b[at] = static_cast<uint8_t>(v >> 8);
                    b[at + 1] = static_cast<uint8_t>(v);
                } else {
                    b[at] = static_cast<uint8_t>(v);
                }
                break;
            }
            default:  // truncate
                b.resize(below(b.size()));
                break;
        }
    }

    const std::vector<Bytes>& corpus_;
    std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s SECONDS CORPUS_DIR [SEED]\n", argv[0]);
        return 2;
    }
    double seconds = std::atof(argv[1]);
    uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 0) : 0x7115a4d;
    std::string name = std::filesystem::path(argv[0]).filename().string();
    std::snprintf(g_crash_path, sizeof g_crash_path, "fuzz-crash-%s", name.c_str());
    std::signal(SIGABRT, on_fatal_signal);
    std::signal(SIGSEGV, on_fatal_signal);
    std::signal(SIGBUS, on_fatal_signal);
    std::signal(SIGFPE, on_fatal_signal);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_death_callback(save_current_input);
#endif

    std::vector<Bytes> corpus;
    try {
        corpus = load_corpus(argv[2]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: cannot read the corpus %s: %s\n", name.c_str(), argv[2],
                     e.what());
        return 2;
    }
    if (corpus.empty()) {
        std::fprintf(stderr, "%s: empty corpus %s\n", name.c_str(), argv[2]);
        return 2;
    }
    for (const Bytes& b : corpus) run_one(b);

    Mutator mutator(corpus, seed);
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    uint64_t runs = 0;
    while (std::chrono::steady_clock::now() < until) {
        for (int i = 0; i < 64; ++i, ++runs) run_one(mutator.next());
    }
    std::printf("%s: %zu seeds and %llu mutated inputs ran clean (seed %#llx)\n", name.c_str(),
                corpus.size(), static_cast<unsigned long long>(runs),
                static_cast<unsigned long long>(seed));
    return 0;
}
