// The process group: MPI init/finalize, rank and size, and byte messages with a Tag (dist/protocol.h).
// comm.cpp is the only file that includes <mpi.h>; every MPI call there is checked with file:line.
// A run started without mpirun/srun is a singleton group of size 1. Nothing here knows about units.
// Called by cmd_run.cpp (init, bcast, finalize), coordinator.cpp and worker.cpp (send/recv).
#pragma once
#include <string>
#include <vector>

#include "dist/protocol.h"

namespace tp {

struct Comm {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // rank among the processes on this node
  int local_size = 1;
  int gpu_slot = 0;    // a worker's device index on its node: local_rank, less one on the node of rank 0
};

Comm comm_init(int* argc, char*** argv);  // MPI_Init_thread (FUNNELED); idempotent
void comm_finalize();
[[noreturn]] void comm_abort(int code);   // MPI_Abort: takes every rank down
bool comm_active();                       // MPI initialised and not finalised

void comm_barrier();
void comm_bcast(void* data, int bytes, int root = 0);
// Every rank's host name, indexed by rank (collective).
std::vector<std::string> comm_all_hosts();
std::string host_name();

void comm_send(int dest, Tag tag, const void* data, int bytes);
template <class Msg> void comm_send(int dest, Tag tag, const Msg& m) { comm_send(dest, tag, &m, sizeof m); }

struct Envelope {
  int source = -1;
  Tag tag = Tag::STOP;
};
Envelope comm_probe();                 // blocks until a message is there
bool comm_iprobe(Envelope& env);       // true if a message is there
// Receives the message env announced; bytes must match its size.
void comm_recv(const Envelope& env, void* data, int bytes);
template <class Msg> Msg comm_recv(const Envelope& env) { Msg m; comm_recv(env, &m, sizeof m); return m; }
// A message of any size (the reducer's gather): sent as is, received whole from source with that tag.
void comm_send_bytes(int dest, Tag tag, const std::string& bytes);
std::string comm_recv_bytes(int source, Tag tag);
// Waits for a message from source (any tag) and returns its tag; data receives up to bytes.
Tag comm_recv_any_tag(int source, void* data, int bytes);

}  // namespace tp
