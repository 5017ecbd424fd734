# Engine logits and hidden states against tests/reference/hf_reference.py, an independent float64 numpy
# implementation of the Hugging Face equations (modeling_qwen3/qwen2/llama.py, modeling_rope_utils.py).
# Each test writes a tiny random checkpoint, runs `thinkprobe logits` (float32) over 40 ids, and requires
# max|cpp - ref| / max|ref| <= 1e-4 for the logits and for every hidden state, and identical top-1.
set(TP_REF_IDS "5,17,300,2,99,256,271,140,33,7,8,9,10,200,201,12,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67")
foreach(variant
    "qwen3;default;--shards 1" "qwen3;llama3;--shards 1" "qwen3;yarn;--shards 1"
    "qwen2;default;--shards 1" "qwen2;yarn;--shards 1"
    "llama;default;--shards 1" "llama;llama3;--shards 1"
    "qwen3;default;--shards 3 --dtype bfloat16 --tie 1" "llama;yarn;--shards 2 --tie 1")
  list(GET variant 0 arch)
  list(GET variant 1 rope)
  list(GET variant 2 extra)
  string(REPLACE " " "" tag "${extra}")
  string(REPLACE "--" "_" tag "${tag}")
  set(dir ${CMAKE_BINARY_DIR}/test-tmp/ref-${arch}-${rope}${tag})
  add_test(NAME engine_reference_${arch}_${rope}${tag}
    COMMAND sh -c "rm -rf ${dir} && $<TARGET_FILE:thinkprobe> make-test-model ${dir} --arch ${arch} --rope ${rope} ${extra} && \
$<TARGET_FILE:thinkprobe> logits --model ${dir} --ids ${TP_REF_IDS} --out ${dir}/logits.npy --hidden-out ${dir}/hidden.npy && \
${TP_PYTHON} ${CMAKE_SOURCE_DIR}/tests/reference/hf_reference.py --model ${dir} --ids ${TP_REF_IDS} \
--cpp-logits ${dir}/logits.npy --cpp-hidden ${dir}/hidden.npy --rtol 1e-4")
endforeach()
