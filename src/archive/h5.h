// A small RAII layer over the HDF5 C API (STYLE.md rule 10, after HighFive): an owning handle, and one
// checked wrapper per operation thinkprobe needs. Every C call goes through H5_CHECK, which turns a
// failure into tp::Error naming the call, file:line and the innermost message of HDF5's error stack.
// Deliberately not a general binding: only 1-D/2-D/3-D datasets that grow along the first axis, vlen
// UTF-8 strings, numbers, and scalar attributes. Used by archive/writer, reader and assemble.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <hdf5.h>

namespace tp {

// Owns one hid_t and closes it with the right H5*close (chosen from H5Iget_type).
struct Hid {
  hid_t id = -1;
  Hid() = default;
  explicit Hid(hid_t i) : id(i) {}
  Hid(Hid&& o) noexcept : id(o.id) { o.id = -1; }
  Hid& operator=(Hid&& o) noexcept;
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() { reset(); }
  void reset();
  operator hid_t() const { return id; }
  bool valid() const { return id >= 0; }
};

// Throws tp::Error("HDF5: <call> failed at file:line: <HDF5 message>") when r < 0; returns r otherwise.
int64_t h5_check(int64_t r, const char* call, const char* file, int line);
#define H5_CHECK(call) ::tp::h5_check(static_cast<int64_t>(call), #call, __FILE__, __LINE__)
// The innermost message of HDF5's current error stack ("truncated file: eof = ...").
std::string h5_last_error();
// Turns off HDF5's own printing of error stacks (we report them ourselves). Idempotent.
void h5_quiet();

// ---- types
hid_t h5_str_type();      // variable-length UTF-8 string (owned by the library, do not close)
hid_t h5_f16_type();      // IEEE half (h5py reads it as float16)
hid_t h5_bf16_type();     // bfloat16: 8-bit exponent, 7-bit mantissa

// ---- files and groups
// Shards and archives: old (1.8-compatible) format so h5py and a killed writer's file stay readable,
// freed file space never reused and metadata only written at flush, so that what a flush made durable
// stays intact when the process is killed during later appends.
Hid h5_file_create(const std::string& path);
Hid h5_file_open(const std::string& path, bool write = false);  // tp::Error naming the path on failure
void h5_flush_durable(hid_t file);                             // H5Fflush + fsync of the file descriptor
Hid h5_group_create(hid_t loc, const std::string& path);       // creates missing parents
Hid h5_group_open(hid_t loc, const std::string& path);
bool h5_exists(hid_t loc, const std::string& path);            // every link on the path exists
std::vector<std::string> h5_children(hid_t group);            // link names, in name order

// ---- datasets that grow along axis 0
// inner: the dims after the first (empty for a column). gzip > 0 adds shuffle + deflate. A chunk is
// chunk_rows x chunk_inner (default: the whole of inner).
Hid h5_dataset_create(hid_t loc, const std::string& name, hid_t type, const std::vector<hsize_t>& inner, hsize_t chunk_rows, int gzip = 0,
                      const std::vector<hsize_t>& chunk_inner = {});
Hid h5_dataset_open(hid_t loc, const std::string& path);
std::vector<hsize_t> h5_dims(hid_t dataset);
// Appends n rows (each row = product of inner dims elements of mem type) and returns the first row written.
hsize_t h5_append(hid_t dataset, hid_t mem_type, hsize_t n, const void* data);
void h5_append_strings(hid_t dataset, const std::vector<std::string>& values);
// h5_append for a [rows, layers, width] dataset chunked one layer at a time (activations), from one
// contiguous [n, width] buffer per layer: each chunk gets one write straight from its layer's buffer
// (row-major [n, layers, width] data would reach the file as one small write per row and layer when the
// chunk cache is bypassed, or cost a copy to regroup it).
hsize_t h5_append_layers(hid_t dataset, hid_t mem_type, hsize_t n, const std::vector<const void*>& layers);
// Reads rows [begin, begin+n) into data (sized by the caller).
void h5_read_rows(hid_t dataset, hid_t mem_type, hsize_t begin, hsize_t n, void* data);
std::vector<std::string> h5_read_strings(hid_t dataset, hsize_t begin, hsize_t n);
// A fixed-size 1-D dataset written at once (metadata tables in archive.h5).
void h5_write_column(hid_t loc, const std::string& name, const std::vector<std::string>& values);
void h5_write_column(hid_t loc, const std::string& name, hid_t mem_type, hsize_t n, const void* data);
void h5_write_text(hid_t loc, const std::string& name, const std::string& value);  // scalar string dataset
std::string h5_read_text(hid_t loc, const std::string& name);

// ---- scalar attributes
void h5_attr_write(hid_t obj, const std::string& name, const std::string& value);
void h5_attr_write(hid_t obj, const std::string& name, int64_t value);
void h5_attr_write(hid_t obj, const std::string& name, const std::vector<std::string>& values);
bool h5_attr_exists(hid_t obj, const std::string& name);
std::string h5_attr_string(hid_t obj, const std::string& name);
std::vector<std::string> h5_attr_strings(hid_t obj, const std::string& name);  // a 1-D string attribute
int64_t h5_attr_int(hid_t obj, const std::string& name);
// Copies every attribute of src onto dst (used by archive pack).
void h5_attrs_copy(hid_t src, hid_t dst);

}  // namespace tp
