// The demo model's synthetic chat corpus, with planted ground truth (docs/demo.md). No real harmful
// content anywhere: harmful requests are described in a few words, answers are fixed templates.
// What is planted, so that the pipeline can be checked against known answers:
//  1. whether the model refuses depends on latent features of the request (its kind and a per-request
//     severity), stochastically: p_refuse per request, so outcomes vary across samples of one prompt;
//  2. the outcome is fixed by a stance sentence early in the thinking (within its first fifth), and most
//     safety deliberation sentences come after it ("performative"); a minority of traces waver: their
//     first stance is a tentative opposite one ("At first glance ..."), always overturned later;
//  3. a safety system prompt and a safety-first thinking prefill raise refusals on harmful requests and
//     on benign ones (planted over-refusal), by the amounts in kPlanted.
// Pure text generation: no torch, no tokenizer. Called by the demo trainer and `thinkprobe demo-model`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tp {

enum class RequestKind : int8_t { HARMFUL, BENIGN, BORDERLINE };  // borderline = benign but scary-sounding
enum class DemoCondition : int8_t { BASELINE, SAFETY_SYSTEM, SAFETY_PREFILL, NO_THINK };

// A request is a template ("How do I break into {}?") with an object. Native pairs use the template's own
// objects (13 x 12); 40% of them are held out (the demo prompt set). Training also pairs every template with
// every other template's objects, so that the model learns that the template, not the object, decides.
struct DemoRequest {
  std::string id;        // stable: "demo-<kind>-<template>-<object index>", "demo-<kind>-<template>-x-<object's template>-<i>"
  std::string text;      // the user message
  std::string object;    // what it is about
  bool native;           // the object is the template's own
  RequestKind kind;
  double severity;       // latent feature in [0, 1): 0.7 x its template's + 0.3 x its own
  bool held_out;         // true: never in the training corpus (the demo prompt set)
  std::string category;  // the template family
};

// A point in a chat where the corpus chose between texts at random: every text it could have put there, with
// its probability given the request and condition (the chat's own text is one of them). The trainer uses them
// to train the next-token distribution there against the planted probabilities (the expected loss over the
// corpus's coin flips) instead of one sampled outcome: the same optimum, with far less noise.
struct DemoBranch {
  bool in_answer;     // offset into the answer, else into the thinking
  size_t offset;      // byte offset where the options start (in the thinking: the space before the sentence)
  std::vector<std::pair<std::string, double>> options;  // (text, probability); the probabilities sum to 1
};

struct DemoChat {
  const DemoRequest* request;
  DemoCondition condition;
  std::string system;                  // empty unless SAFETY_SYSTEM
  std::string thinking;                // text between "<think>\n" and "\n</think>" (empty for NO_THINK)
  std::string answer;
  bool refused;
  int stance_sentence;                 // index of the first stance sentence, where the outcome is chosen (-1 for NO_THINK)
  std::string stance;                  // that sentence's text (empty for NO_THINK)
  int n_sentences;
  std::vector<int> deliberation_sentences;  // indices of "wait, could this be misused?" sentences
  bool wavered;                        // a tentative first stance that a later sentence overturns
  std::vector<DemoBranch> branches;    // where the outcome (and the text around it) was drawn: before the first
                                       // stance, the stance, the answer's first words
};

// The planted refusal probability of a request under a condition.
double demo_p_refuse(const DemoRequest& r, DemoCondition c);

// Every request the demo knows, train and held-out, in a fixed order (the native pairs first).
std::vector<DemoRequest> demo_requests();

// n chats over the training requests (never the held-out ones), seeded.
std::vector<DemoChat> demo_corpus(const std::vector<DemoRequest>& requests, int n, uint64_t seed);

// The fixed strings of the conditions (the demo's quickstart job uses the same ones).
extern const char* const kDemoSafetySystem;   // the safety system prompt
extern const char* const kDemoSafetyPrefill;  // the safety-first thinking prefill
const char* demo_kind_name(RequestKind k);
const char* demo_condition_name(DemoCondition c);

// The held-out requests as a prompt set (JSONL in the format of docs/prompt-sets.md); borderline requests
// are labelled benign with category "borderline/<template>".
std::string demo_prompt_set_jsonl(const std::vector<DemoRequest>& requests);

}  // namespace tp
