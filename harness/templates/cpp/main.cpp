// cmbench implementation %%{id} (made by `cmbench new --template cpp`).
//
//   ./build/main <workload> --<param> V ... --warmups W --iterations N --cpus P
//
// One JSON line per iteration on stdout; errors on stderr with exit status 2. The contract is
// workloads/README.md; each workload's own README is its spec:
//
%%{spec_comments}
//
// Threads are std::thread with the default stack (C++ cannot set a thread's stack size).
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Params = std::map<std::string, std::uint64_t>;  // parameter name -> value

[[noreturn]] void die(const std::string &message) {
    std::fprintf(stderr, "main: %s\n", message.c_str());
    std::exit(2);
}

std::uint64_t now_ns() {
    const auto since = std::chrono::steady_clock::now().time_since_epoch();
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since).count());
}

// A one-slot channel: a mutex, a condition variable and a full flag.
class Slot {
  public:
    void put(std::uint64_t v) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return !full_; });
        value_ = v;
        full_ = true;
        cv_.notify_all();
    }

    std::uint64_t take() {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return full_; });
        full_ = false;
        cv_.notify_all();
        return value_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool full_ = false;
    std::uint64_t value_ = 0;
};

struct Iteration {
    std::uint64_t elapsed_ns;
    std::string fields;  // the result fields as JSON members, without braces
};

// ping_pong: the main thread is A, one std::thread is B.
Iteration ping_pong(const Params &params) {
    const std::uint64_t roundtrips = params.at("roundtrips");
    Slot ping, pong;
    const std::uint64_t began = now_ns();
    std::thread b([&] {
        for (std::uint64_t r = 0; r < roundtrips; r++) pong.put(ping.take() + 1);
    });
    std::uint64_t token = 0;
    for (std::uint64_t r = 0; r < roundtrips; r++) {
        ping.put(token);
        token = pong.take() + 1;
    }
    b.join();
    const std::uint64_t elapsed = now_ns() - began;
    return {elapsed, "\"roundtrips\": " + std::to_string(roundtrips) + ", \"token\": " + std::to_string(token)};
}

// workload -> function and its parameters. Add the others here, following their specs (above).
struct Workload {
    Iteration (*run)(const Params &);
    std::vector<std::string> params;  // names as in workload.toml; the flag is --name with '_' as '-'
};

const std::map<std::string, Workload> WORKLOADS = {
    {"ping_pong", {ping_pong, {"roundtrips"}}},
};

std::string flag_of(std::string name) {
    std::replace(name.begin(), name.end(), '_', '-');
    return "--" + name;
}

std::uint64_t number(const std::string &flag, const char *text) {
    if (text == nullptr || *text == '\0' || std::strspn(text, "0123456789") != std::strlen(text))
        die("not a decimal integer: " + flag);
    return std::strtoull(text, nullptr, 10);
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 2) die("usage: main <workload> --<param> V ... --warmups W --iterations N --cpus P");
    const auto found = WORKLOADS.find(argv[1]);
    if (found == WORKLOADS.end()) die(std::string("unknown workload: ") + argv[1]);
    const std::string workload = found->first;
    const Workload &w = found->second;
    Params params;
    std::uint64_t warmups = 0, iterations = 1;
    for (int a = 2; a < argc; a += 2) {
        const std::string flag = argv[a];
        const char *value = a + 1 < argc ? argv[a + 1] : nullptr;
        const auto param = std::find_if(w.params.begin(), w.params.end(),
                                        [&](const std::string &name) { return flag_of(name) == flag; });
        if (param != w.params.end())
            params[*param] = number(flag, value);
        else if (flag == "--warmups")
            warmups = number(flag, value);
        else if (flag == "--iterations")
            iterations = number(flag, value);
        else if (flag == "--cpus")
            number(flag, value);
        else
            die("unknown flag: " + flag);
    }
    for (const std::string &name : w.params)
        if (params.count(name) == 0) die("missing flag: " + flag_of(name));
    for (std::uint64_t i = 0; i < warmups + iterations; i++) {
        const Iteration it = w.run(params);
        std::printf("{\"workload\": \"%s\", \"iteration\": %" PRIu64 ", \"warmup\": %s, \"elapsed_ns\": %" PRIu64
                    ", %s}\n",
                    workload.c_str(), i, i < warmups ? "true" : "false", it.elapsed_ns ? it.elapsed_ns : 1,
                    it.fields.c_str());
        std::fflush(stdout);
    }
    return 0;
}
