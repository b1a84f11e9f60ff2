// The viewer (whitebox serve): its requests against the library's own calls on the bundled
// photos, its refusals, its cache bound and its jobs, and the page in headless Chromium.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <regex>
#include <nlohmann/json.hpp>
#include <thread>

#include "report_support.hpp"
#include "support.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/data.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/files.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics/faithfulness.hpp"
#include "whitebox/serve.hpp"

namespace fs = std::filesystem;
using namespace whitebox;
using namespace whitebox::test;
using Json = nlohmann::json;

namespace {

// A .npy file of float32 values as a tensor (the header as whitebox writes it).
at::Tensor parse_npy(const std::string& bytes) {
  const size_t header = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string text = bytes.substr(10, header);
  const size_t open = text.find("'shape': (") + 10;
  std::vector<int64_t> shape;
  for (size_t at = open; text[at] != ')';) {
    size_t used = 0;
    shape.push_back(std::stoll(text.substr(at), &used));
    at += used;
    while (text[at] == ',' || text[at] == ' ') ++at;
  }
  const std::string data = bytes.substr(10 + header);
  return at::from_blob(const_cast<char*>(data.data()), shape, at::kFloat).clone();
}

// Chromium, headless, on a page of the viewer (`extra`: --dump-dom or --screenshot=FILE).
ProcessResult open_page(const std::string& chromium, const TempDir& profile, const std::string& url,
                        const std::vector<std::string>& extra) {
  std::vector<std::string> args{"120", chromium, "--headless", "--disable-gpu", "--no-sandbox",
                                "--no-first-run", "--disable-extensions", "--disable-dev-shm-usage",
                                "--hide-scrollbars", "--user-data-dir=" + profile.path().string(),
                                "--virtual-time-budget=30000", "--window-size=1200,900"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  return run_process("timeout", args);
}

}  // namespace

class Viewer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model_ = new Model(Model::load(default_model()));
    ServeOptions options;
    options.port = 0;
    server_ = new Server(*model_, options);
    server_->start();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete model_;
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(120);
    return c;
  }
  static httplib::Result get(const std::string& path) { return client().Get(path); }
  static Json get_json(const std::string& path) {
    const auto r = get(path);
    EXPECT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path << ": " << r->body;
    return Json::parse(r->body);
  }
  // The input the server computes from: the bundled photo, preprocessed.
  static at::Tensor input(const std::string& name) {
    return preprocess(read_image(bundled("images/" + name)), model_->preprocessing).tensor;
  }

  static inline Model* model_ = nullptr;
  static inline Server* server_ = nullptr;
};

TEST_F(Viewer, ListsTheBundledPhotosAndSearchesThem) {
  const Json all = get_json("/api/images");
  EXPECT_EQ(all["total"], image_files(bundled("images")).size());
  const Json found = get_json("/api/images?q=CHEL");
  ASSERT_EQ(found["total"], 1);
  EXPECT_EQ(found["images"][0]["name"], "chelsea.png");
  const Json paged = get_json("/api/images?offset=1&limit=2");
  EXPECT_EQ(paged["images"].size(), 2u);
  EXPECT_EQ(paged["images"][0]["name"], all["images"][1]["name"]);

  const Json info = get_json("/api/info");
  EXPECT_EQ(info["methods"].size(), methods().size());
  EXPECT_FALSE(info["layers"].empty());
  EXPECT_EQ(info["input"], Json::array({3, 224, 224}));
}

TEST_F(Viewer, PredictsAndExplainsAsTheLibraryDoes) {
  const at::Tensor x = input("chelsea.png");
  const at::Tensor probabilities = at::softmax(model_->logits(x).to(at::kDouble), 1)[0];
  const Json predicted = get_json("/api/predict?image=chelsea.png&top=3");
  ASSERT_EQ(predicted["classes"].size(), 3u);
  EXPECT_EQ(predicted["classes"][0]["index"], probabilities.argmax().item<int64_t>());
  EXPECT_NEAR(predicted["classes"][0]["probability"].get<double>(), probabilities.max().item<double>(), 1e-9);

  for (const std::string method : {"gradcam", "saliency", "lrp-epsilon"}) {
    const Explanation e = explain(*model_, x, {method}, Target::index(281)).at(method);
    const auto r = get("/api/map?image=chelsea.png&target=281&format=npy&method=" + method);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    const at::Tensor served = parse_npy(r->body);
    ASSERT_EQ(served.sizes(), e.map[0].sizes()) << method;
    EXPECT_TRUE(at::equal(served, e.map[0].to(at::kFloat))) << method;
    const Json meta = get_json("/api/map?image=chelsea.png&target=281&method=" + method);
    EXPECT_EQ(meta["class"], 281);
    EXPECT_EQ(meta["signed"], e.is_signed);
  }
  // Parameters reach the method.
  const Explanation deeper = explain(*model_, x, {"integrated-gradients"}, Target::top(),
                                     Params(std::map<std::string, std::string>{{"steps", "4"}})).at("integrated-gradients");
  const auto r = get("/api/map?image=chelsea.png&method=integrated-gradients&p.steps=4&format=npy");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(at::equal(parse_npy(r->body), deeper.map[0].to(at::kFloat)));

  const auto png = get("/api/map?image=chelsea.png&method=gradcam&format=png");
  ASSERT_EQ(png->status, 200);
  EXPECT_EQ(png->get_header_value("Content-Type"), "image/png");
  EXPECT_EQ(png->body.substr(1, 3), "PNG");
}

TEST_F(Viewer, DrawsDeletionCurvesAndConceptsAsTheLibraryDoes) {
  const at::Tensor x = input("hot_dog.jpg");
  const Explanation e = explain(*model_, x, {"gradcam"}).at("gradcam");
  metrics::PerturbationOptions options;
  options.steps = 8;
  const metrics::Curve expected = metrics::deletion(*model_, x[0], e.map[0], e.classes[0], options);
  const Json curve = get_json("/api/curve?image=hot_dog.jpg&method=gradcam&curve=deletion&steps=8");
  ASSERT_EQ(curve["score"].size(), expected.score.size());
  for (size_t k = 0; k < expected.score.size(); ++k)
    EXPECT_NEAR(curve["score"][k].get<double>(), expected.score[k], 1e-6);
  EXPECT_NEAR(curve["auc"].get<double>(), expected.auc, 1e-6);

  const Json info = get_json("/api/info");
  const std::string layer = info["layers"][info["layers"].size() - 3];
  ConceptOptions concept_options;
  concept_options.top = 2;
  const Concepts found = concepts(*model_, x, layer, Target::top(), concept_options);
  const Json served = get_json("/api/concepts?image=hot_dog.jpg&top=2&layer=" + layer);
  EXPECT_EQ(served["channels"], Json(found.channels));
  const auto maps = get("/api/concepts?image=hot_dog.jpg&top=2&format=npy&layer=" + layer);
  EXPECT_TRUE(at::allclose(parse_npy(maps->body), found.maps.to(at::kFloat), 1e-5, 1e-7));
}

TEST_F(Viewer, RefusesBadRequestsWithAReasonAndStaysUp) {
  const std::vector<std::pair<std::string, int>> refused{
      {"/api/map?image=../../etc/passwd&method=saliency", 404},
      {"/api/map?image=%2Fetc%2Fpasswd&method=saliency", 404},
      {"/api/image?image=..%2Fmobilenet_v2_1.0_224.onnx", 404},
      {"/api/map?image=chelsea.png&method=no-such-method", 404},
      {"/api/map?image=chelsea.png", 400},
      {"/api/map?image=chelsea.png&method=rise&p.masks=1000000000", 400},
      {"/api/map?image=chelsea.png&method=rise&p.samples=10", 400},
      {"/api/map?image=chelsea.png&method=gradcam&p.layer=no-such-layer", 404},
      {"/api/map?image=chelsea.png&method=gradcam&format=gif", 400},
      {"/api/map?image=chelsea.png&method=gradcam&target=no-such-class-label", 404},
      {"/api/images?limit=100000", 400},
      {"/api/images?offset=-1", 400},
      {"/api/curve?image=chelsea.png&method=gradcam&steps=99999999", 400},
      {"/api/concepts?image=chelsea.png&method=gradcam", 400},
      {"/api/eval", 404},
      {"/api/jobs/123456", 404},
      {"/no/such/page", 404},
      {"/api/images?q=" + std::string(5000, 'a'), 400},
  };
  for (const auto& [path, status] : refused) {
    const auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, status) << path << ": " << r->body;
    const Json body = Json::parse(r->body);
    EXPECT_FALSE(body["error"].get<std::string>().empty()) << path;
    EXPECT_EQ(body["error"].get<std::string>().find('\n'), std::string::npos) << path;
  }
  std::string many = "/api/images?";
  for (int i = 0; i < 100; ++i) many.append("f").append(std::to_string(i)).append("=1&");
  EXPECT_EQ(get(many)->status, 400);
  EXPECT_EQ(get("/api/images")->status, 200);
}

TEST_F(Viewer, JobsReportProgressAndCanBeCancelled) {
  httplib::Client c = client();
  // A long job (RISE with many masks) is cancelled while it runs or waits.
  auto posted = c.Post("/api/jobs?job=map&image=parrot.jpg&method=rise&p.masks=50000");
  ASSERT_EQ(posted->status, 200) << posted->body;
  const Json job = Json::parse(posted->body);
  const std::string id = job["id"];
  EXPECT_EQ(c.Delete("/api/jobs/" + id)->status, 200);
  std::string state;
  for (int i = 0; i < 200 && state != "cancelled"; ++i) {
    state = Json::parse(c.Get("/api/jobs/" + id)->body)["state"];
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(state, "cancelled");

  // A job that finishes leaves its result in the cache: asked again, it is done at once.
  posted = c.Post("/api/jobs?job=map&image=parrot.jpg&method=rise&p.masks=64");
  const std::string second = Json::parse(posted->body)["id"];
  for (int i = 0; i < 600 && state != "done"; ++i) {
    const Json now = Json::parse(c.Get("/api/jobs/" + second)->body);
    state = now["state"];
    if (state == "done") EXPECT_GE(now["planned"].get<int64_t>(), 64);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(state, "done");
  EXPECT_EQ(Json::parse(c.Post("/api/jobs?job=map&image=parrot.jpg&method=rise&p.masks=64")->body)["state"], "done");
}

TEST_F(Viewer, RefusesJobsBeyondTheQueueBoundAndCancelsThem) {
  httplib::Client c = client();
  std::vector<std::string> ids;
  int refused = 0;
  for (int k = 0; k < 300; ++k) {
    const auto r = c.Post("/api/jobs?job=map&image=bird.bmp&method=rise&p.masks=50000&p.seed=" +
                          std::to_string(k));
    if (r->status == 503) {
      ++refused;
      EXPECT_NE(Json::parse(r->body)["error"].get<std::string>().find("too many"), std::string::npos);
    } else {
      ASSERT_EQ(r->status, 200) << r->body;
      ids.push_back(Json::parse(r->body)["id"]);
    }
  }
  // One runs, 256 wait: the rest are refused.
  EXPECT_GE(refused, 300 - 257);
  for (const auto& id : ids) c.Delete("/api/jobs/" + id);
  // Each ends cancelled (the oldest ended jobs are forgotten: 404).
  for (const auto& id : ids) {
    std::string state;
    for (int i = 0; i < 200 && state != "cancelled"; ++i) {
      const auto r = c.Get("/api/jobs/" + id);
      state = r->status == 404 ? "cancelled" : Json::parse(r->body)["state"].get<std::string>();
      if (state != "cancelled") std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_EQ(state, "cancelled") << id;
  }
  EXPECT_EQ(c.Get("/api/map?image=bird.bmp&method=saliency")->status, 200);
}

// The load of docs/viewer.md, Speed, in small: 8 clients x 50 requests at once, every other one
// a new map (another class), the others cached maps; all answered, the cache within its budget.
TEST_F(Viewer, ConcurrentClientsAllGetAnswers) {
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  const std::vector<std::string> methods{"saliency", "gradcam", "gradient-input", "gradcam++"};
  for (const auto& method : methods) get("/api/map?image=coffee.png&method=" + method);
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c = client();
      for (int i = 0; i < 50; ++i) {
        const std::string path =
            i % 2 ? "/api/map?format=npy&image=coffee.png&method=" + methods[(t + i) % 4]
                  : "/api/map?method=gradcam&image=bird.bmp&target=" + std::to_string(t * 50 + i);
        const auto r = c.Get(path);
        if (!r || r->status != 200) ++failures;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures, 0);
  const Json info = get_json("/api/info");
  EXPECT_LE(info["cache_used"].get<uint64_t>(), info["cache_bytes"].get<uint64_t>());
}

TEST(ViewerCatalogue, ServesOnlyTheFolderAndKeepsTheCacheBound) {
  TempDir folder, outside;
  fs::copy_file(bundled("images/chelsea.png"), folder / "cat.png");
  fs::copy_file(bundled("images/coffee.png"), outside / "secret.png");
  fs::create_symlink(outside / "secret.png", folder / "link.png");
  fs::create_directory(folder / "eval");
  write_file(folder / "eval" / "results.json",
             R"({"summary": {"saliency": {"deletion_auc": {"n": 1, "mean": 0.25, "std": 0,
                 "ci95": [0.25, 0.25], "higher_is_better": false}}},
                 "images": {"cat.png": {"saliency": {"deletion_auc": 0.25}}}})");

  ServeOptions options;
  options.port = 0;
  options.images = folder.path();
  options.eval = folder / "eval";
  options.cache_bytes = 1 << 20;  // five maps of 224 x 224
  Server server(Model::load(default_model()), options);
  server.start();
  httplib::Client c("127.0.0.1", server.port());
  const Json listed = Json::parse(c.Get("/api/images")->body);
  ASSERT_EQ(listed["total"], 1);
  EXPECT_EQ(listed["images"][0]["name"], "cat.png");
  EXPECT_EQ(c.Get("/api/image?image=link.png")->status, 404);
  EXPECT_EQ(c.Get("/api/image?image=cat.png&size=thumb")->status, 200);
  EXPECT_EQ(Json::parse(c.Get("/api/eval")->body)["summary"].count("saliency"), 1u);

  for (const std::string method : {"saliency", "gradient-input", "gradcam", "gradcam++", "xgradcam",
                                   "layercam", "guided-backprop", "deconvnet", "hirescam"}) {
    ASSERT_EQ(c.Get("/api/map?image=cat.png&method=" + method)->status, 200) << method;
    EXPECT_LE(Json::parse(c.Get("/api/info")->body)["cache_used"].get<uint64_t>(), options.cache_bytes);
  }

  // The data-set view shows the summary and the per-image table.
  const std::string chromium = find_chromium();
  if (!chromium.empty()) {
    TempDir profile;
    const auto dom = open_page(chromium, profile, server.url() + "#view=dataset", {"--dump-dom"});
    ASSERT_EQ(dom.code, 0) << dom.err;
    EXPECT_NE(dom.out.find("<td>cat.png</td><td>saliency</td><td>0.2500</td>"), std::string::npos)
        << dom.out.substr(0, 3000);
    EXPECT_NE(dom.out.find("<td>deletion_auc</td><td>0.2500</td>"), std::string::npos);
  }
  server.stop();
  server.wait();
}

// The page itself: opened on an image with two methods, it shows two drawn overlays.
TEST_F(Viewer, ThePageShowsTheChosenMapsInChromium) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (apt-get install chromium)";
  TempDir profile;
  const auto open = [&](const std::string& hash, const std::vector<std::string>& extra) {
    return open_page(chromium, profile, server_->url() + hash, extra);
  };
  const auto dom = open("#image=chelsea.png&methods=gradcam,saliency", {"--dump-dom"});
  ASSERT_EQ(dom.code, 0) << dom.err;
  EXPECT_NE(dom.out.find("data-ready=\"true\""), std::string::npos) << dom.out.substr(0, 2000);
  for (const std::string method : {"gradcam", "saliency"}) {
    const std::regex drawn("data-method=\"" + method + "\"><canvas[^>]*data-state=\"drawn\"");
    EXPECT_TRUE(std::regex_search(dom.out, drawn)) << method;
  }
  EXPECT_EQ(dom.out.find("class=\"map failed\""), std::string::npos);

  // The screenshot shows the maps: two overlays of 224 x 224 in saturated colours (jet, red-blue),
  // where the page without them shows the pale method list.
  const auto saturated = [&](const std::string& hash) {
    const fs::path shot = profile / "shot.png";
    const auto r = open(hash, {"--screenshot=" + shot.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    const at::Tensor pixels = read_image(shot).to(at::kInt);
    const at::Tensor saturation = std::get<0>(pixels.max(2)) - std::get<0>(pixels.min(2));
    return (saturation > 120).sum().item<int64_t>();
  };
  const int64_t with_maps = saturated("#image=chelsea.png&methods=gradcam,saliency");
  const int64_t without = saturated("#image=chelsea.png");
  EXPECT_GT(with_maps, without + 40000) << with_maps << " vs " << without;
}
