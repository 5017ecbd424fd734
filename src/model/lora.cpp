// PEFT LoRA merge (see lora.h). Every tensor of the adapter file must name a known projection of an existing
// layer and pair with its other half; every check runs before any weight changes.
#include "model/lora.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <regex>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "model/safetensors.h"
#include "util/check.h"
#include "util/text.h"

namespace tp {

namespace fs = std::filesystem;

namespace {

const char* kConfig = "adapter_config.json";
const char* kWeights = "adapter_model.safetensors";
const char* kModules[] = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

struct LoraConfig {
  int64_t r = 0;
  double alpha = 0;
  bool rslora = false;
  nlohmann::json target_modules;  // a list of module names (matched on the last name part) or a regex (full match)
};

LoraConfig config_read(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON ({})", path, e.what()));
  }
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key) || j[key].is_null()) throw Error(fmt::format("{}: key '{}' is missing", path, key), "is this a PEFT LoRA adapter folder?");
    return j[key];
  };
  if (j.value("peft_type", "LORA") != "LORA") throw Error(fmt::format("{}: peft_type '{}' is not LORA", path, j.value("peft_type", "")));
  auto unsupported = [&](const char* key, bool set) {
    if (set) throw Error(fmt::format("{}: '{}' is set; thinkprobe merges plain LoRA adapters only", path, key), "merge the adapter with PEFT (merge_and_unload) and load the merged checkpoint as a model");
  };
  unsupported("use_dora", j.value("use_dora", false));
  unsupported("fan_in_fan_out", j.value("fan_in_fan_out", false));
  unsupported("bias", j.value("bias", std::string("none")) != "none");
  unsupported("rank_pattern", j.contains("rank_pattern") && !j["rank_pattern"].is_null() && !j["rank_pattern"].empty());
  unsupported("alpha_pattern", j.contains("alpha_pattern") && !j["alpha_pattern"].is_null() && !j["alpha_pattern"].empty());
  unsupported("modules_to_save", j.contains("modules_to_save") && !j["modules_to_save"].is_null() && !j["modules_to_save"].empty());
  LoraConfig c;
  const nlohmann::json& r = need("r");
  const nlohmann::json& alpha = need("lora_alpha");
  if (!r.is_number_integer() || r.get<int64_t>() < 1) throw Error(fmt::format("{}: 'r' must be an integer >= 1, got {}", path, r.dump()));
  if (!alpha.is_number()) throw Error(fmt::format("{}: 'lora_alpha' must be a number, got {}", path, alpha.dump()));
  c.r = r.get<int64_t>();
  c.alpha = alpha.get<double>();
  c.rslora = j.value("use_rslora", false);
  c.target_modules = need("target_modules");
  if (!c.target_modules.is_string() && !c.target_modules.is_array())
    throw Error(fmt::format("{}: 'target_modules' must be a list of names or a regular expression", path));
  if (c.target_modules.is_array())
    for (const auto& t : c.target_modules)
      if (!t.is_string() || std::find(std::begin(kModules), std::end(kModules), t.get<std::string>()) == std::end(kModules))
        throw Error(fmt::format("{}: target module {} is not one thinkprobe can merge", path, t.dump()),
                    "supported: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
  return c;
}

bool targeted(const LoraConfig& c, const std::string& module_path, const std::string& name) {
  if (c.target_modules.is_string()) return std::regex_match(module_path, std::regex(c.target_modules.get<std::string>()));
  for (const auto& t : c.target_modules)
    if (t.get<std::string>() == name) return true;
  return false;
}

at::Tensor& weight_of(LayerWeights& l, const std::string& name) {
  if (name == "q_proj") return l.wq;
  if (name == "k_proj") return l.wk;
  if (name == "v_proj") return l.wv;
  if (name == "o_proj") return l.wo;
  if (name == "gate_proj") return l.w_gate;
  if (name == "up_proj") return l.w_up;
  return l.w_down;
}

struct Pair {
  const StTensor* a = nullptr;  // [r, in]
  const StTensor* b = nullptr;  // [out, r]
  int64_t il = 0;
  std::string name, module_path;
};

}  // namespace

std::vector<std::string> lora_files(const std::string& /*dir*/) { return {kConfig, kWeights}; }

void lora_merge(Model& m, const std::string& dir) {
  const std::string cfg_path = (fs::path(dir) / kConfig).string(), st_path = (fs::path(dir) / kWeights).string();
  std::error_code ec;
  if (!fs::is_regular_file(cfg_path, ec)) throw Error(fmt::format("{}: no such file", cfg_path), "a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors");
  if (!fs::is_regular_file(st_path, ec)) throw Error(fmt::format("{}: no such file", st_path), "a PEFT adapter folder holds adapter_config.json and adapter_model.safetensors");
  const LoraConfig c = config_read(cfg_path);
  const StCheckpoint ck = safetensors_open(st_path);

  // base_model.model.<module path>.lora_{A,B}.weight, module path model.layers.N.{self_attn,mlp}.X
  static const std::regex key_re(R"(base_model\.model\.((model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)))\.lora_([AB])\.weight)");
  std::map<std::string, Pair> pairs;
  for (const auto& [key, t] : ck.tensors) {
    std::smatch mm;
    if (!std::regex_match(key, mm, key_re))
      throw Error(fmt::format("{}: tensor '{}' is not a LoRA A/B weight of a decoder layer's projection", st_path, key),
                  "thinkprobe merges LoRA on q/k/v/o_proj and gate/up/down_proj only");
    const std::string name = mm[5], block = mm[4];
    const bool attn_name = name == "q_proj" || name == "k_proj" || name == "v_proj" || name == "o_proj";
    const bool mlp_name = name == "gate_proj" || name == "up_proj" || name == "down_proj";
    if (!((block == "self_attn" && attn_name) || (block == "mlp" && mlp_name)))
      throw Error(fmt::format("{}: tensor '{}': unknown target module '{}.{}'", st_path, key, block, name),
                  "supported: self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj");
    Pair& p = pairs[mm[1]];
    p.il = std::stoll(mm[3]);
    p.name = name;
    p.module_path = mm[2];
    (mm[6] == "A" ? p.a : p.b) = &t;
    if (p.il >= m.cfg.n_layer)
      throw Error(fmt::format("{}: tensor '{}': layer {} but the model has {} layers", st_path, key, p.il, m.cfg.n_layer));
    if (!targeted(c, p.module_path, name))
      throw Error(fmt::format("{}: tensor '{}': module '{}' is not among target_modules {} of {}", st_path, key, p.module_path, c.target_modules.dump(), cfg_path));
  }
  if (pairs.empty()) throw Error(fmt::format("{}: no LoRA tensors", st_path));
  for (const auto& [module, p] : pairs) {
    const std::string prefix = "base_model.model." + module + ".lora_";
    if (!p.a || !p.b) throw Error(fmt::format("{}: tensor '{}' is missing ({} is there)", st_path, prefix + (p.a ? "B" : "A") + ".weight", prefix + (p.a ? "A" : "B") + ".weight"));
    const at::Tensor& w = weight_of(m.w.layers[p.il], p.name);
    const int64_t out = w.size(0), in = w.size(1);
    if (p.a->shape != std::vector<int64_t>{c.r, in})
      throw Error(fmt::format("{}: tensor '{}' has shape [{}], expected [{}, {}] (r = {} from {}, in_features of the model's {})", st_path, p.a->name,
                              fmt::join(p.a->shape, ", "), c.r, in, c.r, kConfig, p.name));
    if (p.b->shape != std::vector<int64_t>{out, c.r})
      throw Error(fmt::format("{}: tensor '{}' has shape [{}], expected [{}, {}] (out_features of the model's {}, r = {})", st_path, p.b->name,
                              fmt::join(p.b->shape, ", "), out, c.r, p.name, c.r));
  }
  const double scale = c.rslora ? c.alpha / std::sqrt(double(c.r)) : c.alpha / double(c.r);
  for (const auto& [module, p] : pairs) {
    at::Tensor& w = weight_of(m.w.layers[p.il], p.name);
    at::Tensor a = st_to_tensor(*p.a, at::kFloat, m.device), b = st_to_tensor(*p.b, at::kFloat, m.device);
    w = (w.to(at::kFloat) + at::matmul(b, a).mul_(scale)).to(m.dtype).contiguous();
  }
}

}  // namespace tp
