// The coordinator <-> worker protocol: message tags and the plain-old-data messages sent as bytes
// (STYLE.md rule 9). Workers pull: they send RequestWork (first time) or UnitDone / UnitFailed with
// wants_more = 1, and the coordinator answers AssignUnits or Stop. Units are plan indices: every rank
// expands the same job into the same plan, so an index names the same unit everywhere.
// No MPI here (dist/comm.cpp carries these bytes); coordinator.cpp and worker.cpp speak it.
#pragma once
#include <cstdint>
#include <type_traits>

namespace tp {

enum class Tag : int32_t {
  REQUEST_WORK = 1,  // worker -> coordinator: ready, holding model loaded_model (-1: none)
  ASSIGN_UNITS = 2,  // coordinator -> worker: run these units, in order
  UNIT_DONE = 3,     // worker -> coordinator: a unit's rows are durable in the worker's shard
  UNIT_FAILED = 4,   // worker -> coordinator: a unit threw; its rows were not written
  STOP = 5,          // coordinator -> worker: no more work; close the shard and leave
  REDUCE_CELLS = 6,  // reduce rank -> rank 0: its cells and directions (CBOR, reduce/reduce_gather.cpp)
};

inline constexpr int MAX_UNITS_PER_ASSIGN = 64;  // RunSpec::units_per_request is capped to this
inline constexpr int MAX_POSITIONS = 8;          // capture.positions has at most 6 distinct values

struct RequestWork {
  int32_t loaded_model;
};

struct AssignUnits {
  int32_t n;
  int32_t units[MAX_UNITS_PER_ASSIGN];
};

// Rows are in the worker's shard of this attempt, OUTDIR/shards/a<attempt>-rank<rank>.h5.
struct UnitDone {
  int32_t unit;
  int32_t loaded_model;
  int32_t wants_more;              // 1: this is also the request for the next work
  int32_t n_positions;             // entries used in act_begin / act_n (capture.positions order)
  int64_t sample_begin, n_samples; // rows of /samples in the shard
  int64_t act_begin[MAX_POSITIONS], act_n[MAX_POSITIONS];  // rows of /activations/<model>/<position>
  int64_t n_tokens;                // generated tokens (for tokens/s)
  double seconds;                  // wall time of the unit on the worker
  char device[16];                 // device kind the worker ran on ("cpu", "cuda", "dry")
};

struct UnitFailed {
  int32_t unit;
  int32_t loaded_model;
  int32_t wants_more;
  char error[500];  // what the unit threw, truncated
};

struct Stop {
  int32_t unused;
};

static_assert(std::is_trivially_copyable_v<UnitDone> && std::is_trivially_copyable_v<UnitFailed> &&
              std::is_trivially_copyable_v<AssignUnits>, "protocol messages are sent as bytes");

}  // namespace tp
