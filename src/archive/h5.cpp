// The checked HDF5 wrappers (see h5.h).
#include "archive/h5.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/check.h"

namespace tp {

Hid& Hid::operator=(Hid&& o) noexcept {
  if (this != &o) { reset(); id = o.id; o.id = -1; }
  return *this;
}

void Hid::reset() {
  if (id <= 0) return;  // 0: H5P_DEFAULT
  switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
  }
  id = -1;
}

namespace {

herr_t walk_error(unsigned n, const H5E_error2_t* e, void* out) {
  auto* msgs = static_cast<std::vector<std::string>*>(out);
  msgs->push_back(e->desc ? e->desc : "");
  return 0;
}

hid_t make_str_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

hid_t make_float_type(size_t exp_bits, size_t mant_bits) {
  // layout of a little-endian IEEE-like float of 1 + exp_bits + mant_bits = 16 bits
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  H5Tset_fields(t, 15, mant_bits, exp_bits, 0, mant_bits);
  H5Tset_offset(t, 0);
  H5Tset_precision(t, 16);
  H5Tset_size(t, 2);
  H5Tset_ebias(t, (1u << (exp_bits - 1)) - 1);
  return t;
}

Hid space_for(hsize_t n, const std::vector<hsize_t>& inner) {
  std::vector<hsize_t> dims{n};
  dims.insert(dims.end(), inner.begin(), inner.end());
  return Hid(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)));
}

// File-space selection of rows [begin, begin+n) of dataset d (all of the inner dims).
Hid select_rows(hid_t d, hsize_t begin, hsize_t n, std::vector<hsize_t>& count) {
  Hid fs(H5_CHECK(H5Dget_space(d)));
  int rank = H5_CHECK(H5Sget_simple_extent_ndims(fs));
  std::vector<hsize_t> dims(rank), start(rank, 0);
  H5_CHECK(H5Sget_simple_extent_dims(fs, dims.data(), nullptr));
  count = dims;
  start[0] = begin;
  count[0] = n;
  TP_CHECK_MSG(begin + n <= dims[0], "rows [{}, {}) past the end {}", begin, begin + n, dims[0]);
  H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
  return fs;
}

// Transfer properties for writing the elements of `count` of mem_type: for variable-length strings (always
// converted) a type conversion buffer sized to them, not HDF5's default 1 MiB, which it callocs at every
// write (zeroing 1 MiB per column per unit was most of a shard's CPU time); numbers are stored in their
// native layout, so HDF5 converts nothing and the defaults do (a property list per write cost more CPU
// than the write of a unit's numbers).
Hid transfer_list(hid_t dataset, hid_t mem_type, const std::vector<hsize_t>& count) {
  if (H5Tis_variable_str(mem_type) <= 0) return Hid(H5P_DEFAULT);
  Hid ftype(H5_CHECK(H5Dget_type(dataset)));
  size_t elems = 1;
  for (hsize_t c : count) elems *= c;
  size_t bytes = elems * std::max(H5Tget_size(mem_type), H5Tget_size(ftype));
  Hid dxpl(H5_CHECK(H5Pcreate(H5P_DATASET_XFER)));
  H5_CHECK(H5Pset_buffer(dxpl, std::clamp<size_t>(bytes, 1024, 1 << 20), nullptr, nullptr));
  return dxpl;
}

}  // namespace

std::string h5_last_error() {
  std::vector<std::string> msgs;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_error, &msgs);
  if (msgs.empty()) return "no HDF5 error message";
  // the most specific message first, then the one of the API call that failed
  return msgs.size() == 1 ? msgs[0] : msgs.front() + " (" + msgs.back() + ")";
}

int64_t h5_check(int64_t r, const char* call, const char* file, int line) {
  if (r >= 0) return r;
  std::string msg = h5_last_error();
  H5Eclear2(H5E_DEFAULT);
  throw Error(fmt::format("HDF5: {} failed at {}:{}: {}", call, file, line, msg));
}

void h5_quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

hid_t h5_str_type() { static hid_t t = make_str_type(); return t; }
hid_t h5_f16_type() { static hid_t t = make_float_type(5, 10); return t; }
hid_t h5_bf16_type() { static hid_t t = make_float_type(8, 7); return t; }

Hid h5_file_create(const std::string& path) {
  h5_quiet();
  Hid fcpl(H5_CHECK(H5Pcreate(H5P_FILE_CREATE)));
  // Paged file space (HDF5 >= 1.10.1): metadata and small raw data go to their own 1 MiB pages instead of
  // between the chunks, so a unit's flush touches fewer scattered blocks (bench/RESULTS.md, shard write).
  // No page buffer: the openmpi flavour of HDF5 refuses one.
  H5_CHECK(H5Pset_file_space_strategy(fcpl, H5F_FSPACE_STRATEGY_PAGE, 0, 1));
  H5_CHECK(H5Pset_file_space_page_size(fcpl, 1 << 20));
  Hid fapl(H5_CHECK(H5Pcreate(H5P_FILE_ACCESS)));
  H5AC_cache_config_t c;
  c.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  H5_CHECK(H5Pget_mdc_config(fapl, &c));
  c.evictions_enabled = false;
  c.incr_mode = H5C_incr__off;
  c.flash_incr_mode = H5C_flash_incr__off;
  c.decr_mode = H5C_decr__off;
  c.set_initial_size = true;
  c.initial_size = 16 << 20;
  c.max_size = 64 << 20;
  H5_CHECK(H5Pset_mdc_config(fapl, &c));
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl, fapl);
  if (f < 0) throw Error(fmt::format("cannot create HDF5 file {}: {}", path, h5_last_error()));
  return Hid(f);
}

Hid h5_file_open(const std::string& path, bool write) {
  h5_quiet();
  hid_t f = H5Fopen(path.c_str(), write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    std::string why = h5_last_error();
    H5Eclear2(H5E_DEFAULT);
    throw Error(fmt::format("cannot open {} as HDF5: {}", path, why));
  }
  return Hid(f);
}

void h5_flush_durable(hid_t file) {
  H5_CHECK(H5Fflush(file, H5F_SCOPE_GLOBAL));
  void* handle = nullptr;
  H5_CHECK(H5Fget_vfd_handle(file, H5P_DEFAULT, &handle));
  if (::fsync(*static_cast<int*>(handle)) != 0) throw Error(fmt::format("fsync of an HDF5 file failed: {}", std::strerror(errno)));
}

Hid h5_group_create(hid_t loc, const std::string& path) {
  Hid lcpl(H5_CHECK(H5Pcreate(H5P_LINK_CREATE)));
  H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1));
  return Hid(H5_CHECK(H5Gcreate2(loc, path.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT)));
}

Hid h5_group_open(hid_t loc, const std::string& path) { return Hid(H5_CHECK(H5Gopen2(loc, path.c_str(), H5P_DEFAULT))); }

bool h5_exists(hid_t loc, const std::string& path) {
  size_t pos = 0;
  while (true) {
    size_t next = path.find('/', pos + 1);
    std::string prefix = path.substr(0, next);
    if (!prefix.empty() && prefix != "/" && H5_CHECK(H5Lexists(loc, prefix.c_str(), H5P_DEFAULT)) <= 0) return false;
    if (next == std::string::npos) return true;
    pos = next;
  }
}

std::vector<std::string> h5_children(hid_t group) {
  std::vector<std::string> names;
  H5_CHECK(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, nullptr,
                      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
                        static_cast<std::vector<std::string>*>(out)->push_back(name);
                        return 0;
                      },
                      &names));
  return names;
}

Hid h5_dataset_create(hid_t loc, const std::string& name, hid_t type, const std::vector<hsize_t>& inner, hsize_t chunk_rows, int gzip,
                      const std::vector<hsize_t>& chunk_inner) {
  TP_CHECK(chunk_inner.empty() || chunk_inner.size() == inner.size());
  std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{chunk_rows};
  for (hsize_t d : inner) { dims.push_back(d); maxdims.push_back(d); }
  for (size_t i = 0; i < inner.size(); i++) chunk.push_back(chunk_inner.empty() ? inner[i] : chunk_inner[i]);
  Hid space(H5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data())));
  Hid dcpl(H5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
  H5_CHECK(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()));
  if (H5Tis_variable_str(type) <= 0)  // every row is written: no need to pre-fill chunks (vlen types need a fill)
    H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER));
  if (gzip > 0) {
    H5_CHECK(H5Pset_shuffle(dcpl));
    H5_CHECK(H5Pset_deflate(dcpl, static_cast<unsigned>(gzip)));
  }
  Hid lcpl(H5_CHECK(H5Pcreate(H5P_LINK_CREATE)));
  H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1));
  // Unfiltered numbers bypass the chunk cache: HDF5 then writes rows straight from our buffer to their
  // place in the file, instead of allocating, zeroing and copying a chunk buffer (that halved write speed).
  Hid dapl(H5_CHECK(H5Pcreate(H5P_DATASET_ACCESS)));
  if (gzip == 0 && H5Tis_variable_str(type) <= 0) H5_CHECK(H5Pset_chunk_cache(dapl, 0, 0, 1.0));
  return Hid(H5_CHECK(H5Dcreate2(loc, name.c_str(), type, space, lcpl, dcpl, dapl)));
}

Hid h5_dataset_open(hid_t loc, const std::string& path) { return Hid(H5_CHECK(H5Dopen2(loc, path.c_str(), H5P_DEFAULT))); }

std::vector<hsize_t> h5_dims(hid_t dataset) {
  Hid fs(H5_CHECK(H5Dget_space(dataset)));
  int rank = static_cast<int>(H5_CHECK(H5Sget_simple_extent_ndims(fs)));
  std::vector<hsize_t> dims(rank);
  H5_CHECK(H5Sget_simple_extent_dims(fs, dims.data(), nullptr));
  return dims;
}

hsize_t h5_append(hid_t dataset, hid_t mem_type, hsize_t n, const void* data) {
  std::vector<hsize_t> dims = h5_dims(dataset);
  hsize_t begin = dims[0];
  if (n == 0) return begin;
  dims[0] += n;
  H5_CHECK(H5Dset_extent(dataset, dims.data()));
  std::vector<hsize_t> count;
  Hid fs = select_rows(dataset, begin, n, count);
  Hid ms(H5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr)));
  H5_CHECK(H5Dwrite(dataset, mem_type, ms, fs, transfer_list(dataset, mem_type, count), data));
  return begin;
}

hsize_t h5_append_layers(hid_t dataset, hid_t mem_type, hsize_t n, const std::vector<const void*>& layers) {
  std::vector<hsize_t> dims = h5_dims(dataset);
  TP_CHECK(dims.size() == 3 && dims[1] == layers.size());
  hsize_t begin = dims[0];
  if (n == 0) return begin;
  dims[0] += n;
  H5_CHECK(H5Dset_extent(dataset, dims.data()));
  Hid fs(H5_CHECK(H5Dget_space(dataset)));
  hsize_t ms_dims[3] = {n, 1, dims[2]};  // the file selection's shape: HDF5 maps it chunk by chunk, not element by element
  Hid ms(H5_CHECK(H5Screate_simple(3, ms_dims, nullptr)));
  for (size_t l = 0; l < layers.size(); l++) {
    hsize_t start[3] = {begin, l, 0}, count[3] = {n, 1, dims[2]};
    H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, nullptr, count, nullptr));
    H5_CHECK(H5Dwrite(dataset, mem_type, ms, fs, H5P_DEFAULT, layers[l]));
  }
  return begin;
}

// HDF5 variable-length strings end at the first NUL byte, and a model can generate one (token of byte 0x00):
// such a byte is stored as U+FFFD, so the rest of the text is kept (schemas/archive.md). `kept` owns the copies.
static std::vector<const char*> c_strings(const std::vector<std::string>& values, std::vector<std::string>& kept) {
  size_t with_nul = 0;
  for (const auto& v : values) with_nul += v.find('\0') != std::string::npos;
  kept.reserve(with_nul);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) {
    if (v.find('\0') == std::string::npos) {
      ptrs.push_back(v.c_str());
      continue;
    }
    std::string& k = kept.emplace_back();
    for (char c : v) k += c == '\0' ? std::string("\xEF\xBF\xBD") : std::string(1, c);
    ptrs.push_back(k.c_str());
  }
  return ptrs;
}

void h5_append_strings(hid_t dataset, const std::vector<std::string>& values) {
  std::vector<std::string> kept;
  std::vector<const char*> ptrs = c_strings(values, kept);
  h5_append(dataset, h5_str_type(), ptrs.size(), ptrs.data());
}

void h5_read_rows(hid_t dataset, hid_t mem_type, hsize_t begin, hsize_t n, void* data) {
  if (n == 0) return;
  std::vector<hsize_t> count;
  Hid fs = select_rows(dataset, begin, n, count);
  Hid ms(H5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr)));
  H5_CHECK(H5Dread(dataset, mem_type, ms, fs, H5P_DEFAULT, data));
}

std::vector<std::string> h5_read_strings(hid_t dataset, hsize_t begin, hsize_t n) {
  std::vector<char*> ptrs(n, nullptr);
  h5_read_rows(dataset, h5_str_type(), begin, n, ptrs.data());
  std::vector<std::string> out(ptrs.begin(), ptrs.end());
  for (char* p : ptrs) H5free_memory(p);
  return out;
}

void h5_write_column(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  std::vector<std::string> kept;
  std::vector<const char*> ptrs = c_strings(values, kept);
  h5_write_column(loc, name, h5_str_type(), ptrs.size(), ptrs.data());
}

void h5_write_column(hid_t loc, const std::string& name, hid_t mem_type, hsize_t n, const void* data) {
  Hid space = space_for(n, {});
  Hid lcpl(H5_CHECK(H5Pcreate(H5P_LINK_CREATE)));
  H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1));
  Hid d(H5_CHECK(H5Dcreate2(loc, name.c_str(), mem_type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT)));
  if (n > 0) H5_CHECK(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

void h5_write_text(hid_t loc, const std::string& name, const std::string& value) {
  Hid space(H5_CHECK(H5Screate(H5S_SCALAR)));
  Hid lcpl(H5_CHECK(H5Pcreate(H5P_LINK_CREATE)));
  H5_CHECK(H5Pset_create_intermediate_group(lcpl, 1));
  Hid d(H5_CHECK(H5Dcreate2(loc, name.c_str(), h5_str_type(), space, lcpl, H5P_DEFAULT, H5P_DEFAULT)));
  const char* p = value.c_str();
  H5_CHECK(H5Dwrite(d, h5_str_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p));
}

std::string h5_read_text(hid_t loc, const std::string& name) {
  Hid d(H5_CHECK(H5Dopen2(loc, name.c_str(), H5P_DEFAULT)));
  char* p = nullptr;
  H5_CHECK(H5Dread(d, h5_str_type(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &p));
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

void h5_attr_write(hid_t obj, const std::string& name, const std::string& value) {
  Hid space(H5_CHECK(H5Screate(H5S_SCALAR)));
  if (H5_CHECK(H5Aexists(obj, name.c_str()))) H5_CHECK(H5Adelete(obj, name.c_str()));
  Hid a(H5_CHECK(H5Acreate2(obj, name.c_str(), h5_str_type(), space, H5P_DEFAULT, H5P_DEFAULT)));
  const char* p = value.c_str();
  H5_CHECK(H5Awrite(a, h5_str_type(), &p));
}

void h5_attr_write(hid_t obj, const std::string& name, int64_t value) {
  Hid space(H5_CHECK(H5Screate(H5S_SCALAR)));
  if (H5_CHECK(H5Aexists(obj, name.c_str()))) H5_CHECK(H5Adelete(obj, name.c_str()));
  Hid a(H5_CHECK(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT)));
  H5_CHECK(H5Awrite(a, H5T_NATIVE_INT64, &value));
}

void h5_attr_write(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  Hid space = space_for(values.size(), {});
  if (H5_CHECK(H5Aexists(obj, name.c_str()))) H5_CHECK(H5Adelete(obj, name.c_str()));
  Hid a(H5_CHECK(H5Acreate2(obj, name.c_str(), h5_str_type(), space, H5P_DEFAULT, H5P_DEFAULT)));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  H5_CHECK(H5Awrite(a, h5_str_type(), ptrs.data()));
}

bool h5_attr_exists(hid_t obj, const std::string& name) { return H5_CHECK(H5Aexists(obj, name.c_str())) > 0; }

std::string h5_attr_string(hid_t obj, const std::string& name) {
  Hid a(H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  char* p = nullptr;
  H5_CHECK(H5Aread(a, h5_str_type(), &p));
  std::string s = p ? p : "";
  H5free_memory(p);
  return s;
}

std::vector<std::string> h5_attr_strings(hid_t obj, const std::string& name) {
  Hid a(H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  Hid space(H5_CHECK(H5Aget_space(a)));
  hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space));
  std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
  if (n > 0) H5_CHECK(H5Aread(a, h5_str_type(), ptrs.data()));
  std::vector<std::string> out;
  for (char* p : ptrs) {
    out.push_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

int64_t h5_attr_int(hid_t obj, const std::string& name) {
  Hid a(H5_CHECK(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  int64_t v = 0;
  H5_CHECK(H5Aread(a, H5T_NATIVE_INT64, &v));
  return v;
}

void h5_attrs_copy(hid_t src, hid_t dst) {
  H5O_info_t info;
  H5_CHECK(H5Oget_info2(src, &info, H5O_INFO_NUM_ATTRS));
  for (hsize_t i = 0; i < info.num_attrs; i++) {
    Hid a(H5_CHECK(H5Aopen_by_idx(src, ".", H5_INDEX_NAME, H5_ITER_INC, i,
                                  H5P_DEFAULT, H5P_DEFAULT)));
    char name[256];
    H5_CHECK(H5Aget_name(a, sizeof name, name));
    Hid type(H5_CHECK(H5Aget_type(a)));
    Hid space(H5_CHECK(H5Aget_space(a)));
    hssize_t n = H5_CHECK(H5Sget_simple_extent_npoints(space));
    std::vector<unsigned char> buf(static_cast<size_t>(n) * H5Tget_size(type));
    H5_CHECK(H5Aread(a, type, buf.data()));
    Hid b(H5_CHECK(H5Acreate2(dst, name, type, space, H5P_DEFAULT, H5P_DEFAULT)));
    H5_CHECK(H5Awrite(b, type, buf.data()));
    if (H5Tis_variable_str(type) > 0 || H5Tget_class(type) == H5T_VLEN) H5_CHECK(H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf.data()));
  }
}

}  // namespace tp
