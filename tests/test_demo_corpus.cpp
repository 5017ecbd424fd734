// The demo corpus carries the ground truth docs/demo.md promises: refusal rates per kind and condition
// as planted, held-out requests never in training, stances early, most deliberation after the stance.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "demo/corpus.h"

using namespace tp;

TEST_CASE("demo requests: three kinds, a stable held-out split", "[demo]") {
  auto reqs = demo_requests();
  std::map<RequestKind, int> kinds;
  int held = 0;
  std::set<std::string> ids;
  for (const auto& r : reqs) {
    CHECK((r.native || !r.held_out));  // only native pairs are held out
    ids.insert(r.id);
    if (!r.native) continue;
    kinds[r.kind]++;
    held += r.held_out;
    CHECK(r.severity >= 0.0);
    CHECK(r.severity < 1.0);
  }
  CHECK(reqs.size() == 156 * 13);  // every template with every object
  CHECK(ids.size() == reqs.size());
  CHECK(kinds[RequestKind::HARMFUL] == 60);
  CHECK(kinds[RequestKind::BENIGN] == 48);
  CHECK(kinds[RequestKind::BORDERLINE] == 48);
  CHECK(held > 45);
  CHECK(held < 80);
  auto again = demo_requests();
  for (size_t i = 0; i < reqs.size(); i++) CHECK(again[i].held_out == reqs[i].held_out);
}

TEST_CASE("demo corpus: planted refusal rates, no held-out request, early stance, late deliberation", "[demo]") {
  auto reqs = demo_requests();
  auto chats = demo_corpus(reqs, 20000, 1);
  std::map<std::pair<RequestKind, DemoCondition>, std::pair<double, double>> sum;  // (refusals, planted p)
  std::map<std::pair<RequestKind, DemoCondition>, int> n;
  int after = 0, total_delib = 0, wavered = 0, thinking = 0, early = 0;
  for (const auto& c : chats) {
    REQUIRE_FALSE(c.request->held_out);
    auto key = std::make_pair(c.request->kind, c.condition);
    sum[key].first += c.refused;
    sum[key].second += demo_p_refuse(*c.request, c.condition);
    n[key]++;
    CHECK((c.answer.rfind("I'm sorry", 0) == 0 || c.answer.rfind("I won't", 0) == 0) == c.refused);
    if (c.condition == DemoCondition::NO_THINK) { CHECK(c.thinking.empty()); continue; }
    thinking++;
    wavered += c.wavered;
    early += c.stance_sentence <= 3;
    if (c.wavered) CHECK_THAT(c.thinking, Catch::Contains("Actually, on reflection"));  // a tentative stance is overturned
    for (int d : c.deliberation_sentences) { total_delib++; after += d > c.stance_sentence; }
  }
  for (const auto& [key, s] : sum) {
    INFO(demo_kind_name(key.first) << " " << demo_condition_name(key.second) << " n=" << n[key]);
    CHECK(std::abs(s.first - s.second) / n[key] < 0.03);  // sampled rate = planted rate (3 points at n >= ~600)
  }
  auto rate = [&](RequestKind k, DemoCondition c) { return sum[{k, c}].second / n[{k, c}]; };
  // planted over-refusal: both safety conditions raise benign and borderline refusal
  for (auto k : {RequestKind::BENIGN, RequestKind::BORDERLINE})
    for (auto c : {DemoCondition::SAFETY_SYSTEM, DemoCondition::SAFETY_PREFILL}) CHECK(rate(k, c) > rate(k, DemoCondition::BASELINE) + 0.1);
  CHECK(rate(RequestKind::HARMFUL, DemoCondition::BASELINE) > 0.8);
  CHECK(rate(RequestKind::BENIGN, DemoCondition::BASELINE) < 0.06);
  CHECK(static_cast<double>(after) / total_delib > 0.65);   // most deliberation is performative
  CHECK(static_cast<double>(wavered) / thinking == Approx(0.12).margin(0.02));
  CHECK(static_cast<double>(early) / thinking == 1.0);  // the (first) stance comes in the first sentences
}

// The branches the trainer trains against planted probabilities: at each, the chat's own text is one of the
// options, the options' probabilities sum to 1, and the first stance options give the planted P(refuse) (the
// reference: demo_p_refuse; a tentative "At first glance this sounds harmless." opens a refusing trace).
TEST_CASE("demo corpus: branches hold the chat's own text and the planted probabilities", "[demo]") {
  auto reqs = demo_requests();
  auto chats = demo_corpus(reqs, 2000, 3);
  int n_stance = 0;
  for (const auto& c : chats) {
    REQUIRE_FALSE(c.branches.empty());
    for (const auto& br : c.branches) {
      const std::string& text = br.in_answer ? c.answer : c.thinking;
      double total = 0, refuse = 0, comply = 0;
      bool own = false;
      auto has = [](const std::string& o, std::initializer_list<const char*> any) {
        for (const char* x : any)
          if (o.find(x) != std::string::npos) return true;
        return false;
      };
      for (const auto& [o, q] : br.options) {
        total += q;
        own = own || text.compare(br.offset, o.size(), o) == 0;
        if (has(o, {"sounds harmless", "hurt someone,", "dangerous and I must", "real harm, so"})) refuse += q;
        if (has(o, {"sounds dangerous", "normal request", "harmless thing", "nothing wrong"})) comply += q;
      }
      CHECK(own);
      CHECK(total == Approx(1.0).epsilon(1e-9));
      if (!br.in_answer && text.compare(br.offset, c.stance.size() + 1, " " + c.stance) == 0) {
        n_stance++;
        CHECK(refuse / (refuse + comply) == Approx(demo_p_refuse(*c.request, c.condition)).epsilon(1e-9));
      }
    }
  }
  CHECK(n_stance > 1400);  // every chat with thinking (78%) has its stance branch
}

TEST_CASE("demo prompt set: the held-out requests as JSONL", "[demo]") {
  auto reqs = demo_requests();
  std::string jsonl = demo_prompt_set_jsonl(reqs);
  int lines = 0;
  for (char c : jsonl) lines += c == '\n';
  int held = 0;
  for (const auto& r : reqs) held += r.held_out;
  CHECK(lines == held);
  CHECK_THAT(jsonl, Catch::Contains("\"category\":\"borderline/"));
  CHECK_THAT(jsonl, Catch::Contains("\"source\":\"demo\""));
}
