// MPI, behind comm.h. The only translation unit that includes <mpi.h> (STYLE.md rule 9).
#include "dist/comm.h"

#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include <fmt/format.h>

#include "util/check.h"

namespace tp {

namespace {

void mpi_check(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, msg, &n);
  throw Error(fmt::format("MPI: {} failed at {}:{}: {}", call, file, line, std::string(msg, n)));
}
#define MPI_CHECK(call) mpi_check((call), #call, __FILE__, __LINE__)

}  // namespace

Comm comm_init(int* argc, char*** argv) {
  int inited = 0;
  MPI_CHECK(MPI_Initialized(&inited));
  if (!inited) {
    int provided = 0;
    MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    // errors come back as codes that MPI_CHECK turns into tp::Error
    MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  }
  Comm c;
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &c.rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &c.size));
  MPI_Comm node;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, c.rank, MPI_INFO_NULL, &node));
  MPI_CHECK(MPI_Comm_rank(node, &c.local_rank));
  MPI_CHECK(MPI_Comm_size(node, &c.local_size));
  int node_min = 0;  // 0 on the node that runs the coordinator, which takes no device
  MPI_CHECK(MPI_Allreduce(&c.rank, &node_min, 1, MPI_INT, MPI_MIN, node));
  MPI_CHECK(MPI_Comm_free(&node));
  c.gpu_slot = c.size == 1 ? 0 : c.local_rank - (node_min == 0 && c.local_rank > 0 ? 1 : 0);
  return c;
}

bool comm_active() {
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  return inited && !finalized;
}

void comm_finalize() {
  if (comm_active()) MPI_CHECK(MPI_Finalize());
}

void comm_abort(int code) {
  if (comm_active()) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

void comm_barrier() { MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD)); }

void comm_bcast(void* data, int bytes, int root) { MPI_CHECK(MPI_Bcast(data, bytes, MPI_BYTE, root, MPI_COMM_WORLD)); }

std::string host_name() {
  char h[256] = {0};
  if (gethostname(h, sizeof h - 1) != 0) return "unknown";
  return h;
}

std::vector<std::string> comm_all_hosts() {
  int size = 1;
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  char mine[64] = {0};
  std::string h = host_name();
  h.copy(mine, sizeof mine - 1);
  std::vector<char> all(64 * static_cast<size_t>(size));
  MPI_CHECK(MPI_Allgather(mine, 64, MPI_CHAR, all.data(), 64, MPI_CHAR, MPI_COMM_WORLD));
  std::vector<std::string> hosts;
  for (int r = 0; r < size; r++) hosts.emplace_back(all.data() + 64 * r);
  return hosts;
}

void comm_send(int dest, Tag tag, const void* data, int bytes) {
  MPI_CHECK(MPI_Send(data, bytes, MPI_BYTE, dest, static_cast<int>(tag), MPI_COMM_WORLD));
}

Envelope comm_probe() {
  MPI_Status st;
  MPI_CHECK(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st));
  return {st.MPI_SOURCE, static_cast<Tag>(st.MPI_TAG)};
}

bool comm_iprobe(Envelope& env) {
  int flag = 0;
  MPI_Status st;
  MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
  if (flag) env = {st.MPI_SOURCE, static_cast<Tag>(st.MPI_TAG)};
  return flag != 0;
}

void comm_recv(const Envelope& env, void* data, int bytes) {
  MPI_Status st;
  MPI_CHECK(MPI_Recv(data, bytes, MPI_BYTE, env.source, static_cast<int>(env.tag), MPI_COMM_WORLD, &st));
  int got = 0;
  MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &got));
  TP_CHECK_MSG(got == bytes, "message tag {} from rank {}: {} bytes, expected {}", static_cast<int>(env.tag), env.source, got, bytes);
}

void comm_send_bytes(int dest, Tag tag, const std::string& bytes) {
  TP_CHECK_MSG(bytes.size() < (1u << 31), "message of {} bytes is too large for one MPI send", bytes.size());
  MPI_CHECK(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, static_cast<int>(tag), MPI_COMM_WORLD));
}

std::string comm_recv_bytes(int source, Tag tag) {
  MPI_Status st;
  MPI_CHECK(MPI_Probe(source, static_cast<int>(tag), MPI_COMM_WORLD, &st));
  int n = 0;
  MPI_CHECK(MPI_Get_count(&st, MPI_BYTE, &n));
  std::string out(static_cast<size_t>(n), '\0');
  MPI_CHECK(MPI_Recv(out.data(), n, MPI_BYTE, source, static_cast<int>(tag), MPI_COMM_WORLD, &st));
  return out;
}

Tag comm_recv_any_tag(int source, void* data, int bytes) {
  // Poll, and after a short spin sleep between polls: a blocking MPI_Recv spins at full speed, and on an
  // oversubscribed node waiting workers would take the CPU from the coordinator that is to answer them.
  MPI_Status st;
  int flag = 0;
  for (int spins = 0; !flag; spins++) {
    MPI_CHECK(MPI_Iprobe(source, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st));
    if (!flag && spins > 50) {
      struct timespec ts{0, 20000};
      nanosleep(&ts, nullptr);
    }
  }
  MPI_CHECK(MPI_Recv(data, bytes, MPI_BYTE, source, st.MPI_TAG, MPI_COMM_WORLD, &st));
  return static_cast<Tag>(st.MPI_TAG);
}

}  // namespace tp
