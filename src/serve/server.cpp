// The viewer's HTTP server: the page, and the requests it makes (docs/viewer.md). Every request
// is checked before anything runs; what needs the network is computed once, on the job queue,
// and kept in the cache.
#include "whitebox/serve.hpp"

#include <ATen/ATen.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "serve/cache.hpp"
#include "serve/catalogue.hpp"
#include "serve/jobs.hpp"
#include "serve/page.hpp"
#include "whitebox/concepts.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/files.hpp"
#include "whitebox/image.hpp"
#include "whitebox/metrics/faithfulness.hpp"
#include "whitebox/npy.hpp"
#include "whitebox/render.hpp"

namespace whitebox {

namespace {

namespace fs = std::filesystem;
using serve::Result;
using Json = nlohmann::json;

// What one request may ask for: the bounds beyond those every method declares.
constexpr size_t kMostQueryFields = 64;
constexpr size_t kMostFieldBytes = 1024;
constexpr int64_t kMostPage = 500;         // images per gallery page
constexpr int64_t kMostConcepts = 64;      // conditional maps per request
constexpr int64_t kMostCurveSteps = 1000;  // perturbation curve points
constexpr int kThumbnail = 112;            // pixels on a side

// A request that cannot be answered as asked: its HTTP status and one line.
struct Refusal : Error {
  Refusal(int status, const std::string& message) : Error(message), status(status) {}
  int status;
};

int status_of(const std::exception& e) {
  if (const auto* refusal = dynamic_cast<const Refusal*>(&e)) return refusal->status;
  if (dynamic_cast<const LookupError*>(&e) || dynamic_cast<const FileError*>(&e)) return 404;
  if (dynamic_cast<const Interrupted*>(&e)) return 409;
  if (dynamic_cast<const ArgumentError*>(&e) || dynamic_cast<const InputError*>(&e)) return 400;
  if (dynamic_cast<const NumericalError*>(&e)) return 422;
  return 500;
}

// The fields of a request's query, bounded, with typed reads.
class Query {
 public:
  explicit Query(const httplib::Request& request) : request_(request) {
    if (request.params.size() > kMostQueryFields) {
      throw Refusal(400, "too many query fields (at most " + std::to_string(kMostQueryFields) + ")");
    }
    for (const auto& [key, value] : request.params) {
      if (key.size() + value.size() > kMostFieldBytes) {
        throw Refusal(400, "the query field '" + key.substr(0, 40) + "' is too long");
      }
      if (request.get_param_value_count(key) > 1) {
        throw Refusal(400, "the query field '" + key + "' is given twice");
      }
    }
  }

  std::string text(const std::string& key, const std::string& fallback = "") const {
    return request_.has_param(key) ? request_.get_param_value(key) : fallback;
  }
  std::string required(const std::string& key) const {
    if (!request_.has_param(key)) throw Refusal(400, "the request needs the field '" + key + "'");
    return request_.get_param_value(key);
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t lowest, int64_t highest) const {
    if (!request_.has_param(key)) return fallback;
    const std::string value = request_.get_param_value(key);
    try {
      size_t used = 0;
      const long long parsed = std::stoll(value, &used);
      if (used == value.size() && parsed >= lowest && parsed <= highest) return parsed;
    } catch (const std::exception&) {
    }
    throw Refusal(400, "'" + key + "' must be an integer in [" + std::to_string(lowest) + ", " +
                           std::to_string(highest) + "], not '" + value.substr(0, 40) + "'");
  }
  // The method's hyper-parameters: the fields "p.NAME".
  Params params() const {
    Params params;
    for (const auto& [key, value] : request_.params) {
      if (key.rfind("p.", 0) == 0) params.set(key.substr(2), value);
    }
    return params;
  }

 private:
  const httplib::Request& request_;
};

// "name=value;..." of the given values, for cache keys.
std::string key_of(const Params& params) {
  std::string key;
  for (const auto& [name, value] : params.values()) key += name + "=" + value + ";";
  return key;
}

void send_json(httplib::Response& response, const Json& json) {
  response.set_content(json.dump(), "application/json");
}

void send_error(httplib::Response& response, int status, const std::string& message) {
  response.status = status;
  std::string line = message.substr(0, message.find('\n'));
  send_json(response, Json{{"error", printable(line)}});
}

Json hyperparameter_json(const Hyperparameter& h) {
  static const char* const kTypes[] = {"text", "integer", "number", "choice"};
  Json json{{"name", h.name},   {"default", h.fallback},  {"meaning", h.meaning},
            {"type", kTypes[static_cast<int>(h.type)]}, {"computed", h.computed},
            {"describe", h.describe()}};
  if (std::isfinite(h.lowest)) json["lowest"] = h.lowest;
  if (std::isfinite(h.highest)) json["highest"] = h.highest;
  if (!h.choices.empty()) json["choices"] = h.choices;
  return json;
}

}  // namespace

struct Server::State {
  State(Model model, ServeOptions options)
      : model(std::move(model)),
        options(std::move(options)),
        catalogue(this->options.images, this->model),
        cache(this->options.cache_bytes),
        jobs(cache) {
    if (!this->options.eval.empty()) {
      const fs::path file = this->options.eval / "results.json";
      try {
        evaluation = Json::parse(read_file(file, "evaluate results"));
      } catch (const Json::exception& e) {
        throw InputError(file.string() + " is not a valid evaluate result: " + e.what());
      }
    }
    for (const auto& item : catalogue.items()) {
      if (item.target) labels[item.key] = label_of(*item.target);
    }
    // The layers a CAM or concept can look at: the feature maps of a forward pass.
    const Trace trace = this->model.forward(at::zeros(
        input_shape(), at::TensorOptions(this->model.dtype()).device(this->model.device())));
    const Graph& graph = this->model.graph();
    for (const auto& node : graph.nodes) {
      if (node.outputs.empty()) continue;
      const at::Tensor& value = trace[node.outputs[0]];
      if (value.defined() && value.dim() == 4 && value.size(2) * value.size(3) > 1) {
        layers.push_back(graph.values[node.outputs[0]].name);
      }
    }
  }

  // [1, C, H, W]: the model's channels, the preprocessing's size.
  std::vector<int64_t> input_shape() const {
    const auto declared = model.input_shape();
    const int64_t channels = declared.size() == 4 && declared[1] > 0 ? declared[1] : 3;
    return {1, channels, model.preprocessing.height, model.preprocessing.width};
  }

  std::string label_of(int64_t cls) const {
    return cls >= 0 && cls < static_cast<int64_t>(model.labels.size()) ? model.labels[cls]
                                                                        : "class " + std::to_string(cls);
  }

  // ---- what the requests compute ------------------------------------------------------------

  // A computation: its cache key, a title for the page, and the work (on the job queue).
  struct Spec {
    std::string key, title;
    std::function<Result()> work;
  };

  // The result of `spec`: from the cache, else computed by the job queue (waiting for it).
  std::shared_ptr<const Result> obtain(const Spec& spec) {
    if (auto found = cache.find(spec.key)) return found;
    return jobs.wait(submit(spec));
  }
  // A job for `spec`; refused while the queue is full.
  std::shared_ptr<serve::Job> submit(const Spec& spec) {
    auto job = jobs.submit(spec.key, spec.title, spec.work);
    if (!job) {
      throw Refusal(503, "too many computations are waiting (" +
                             std::to_string(serve::JobQueue::kMostQueued) + "); ask again later");
    }
    return job;
  }
  // The same computed on the calling thread: on the job queue's own, or for work that needs no
  // network (pictures).
  std::shared_ptr<const Result> obtain_here(const Spec& spec) {
    if (auto found = cache.find(spec.key)) return found;
    auto result = std::make_shared<const Result>(spec.work());
    cache.put(spec.key, result);
    return result;
  }

  // The network input [1, C, H, W] of an item, kept in the cache: decoding and resizing a photo
  // took as long as a Grad-CAM map of MobileNetV2.
  at::Tensor input_of(const DataItem& item) {
    const std::string key = "input|" + item.key;
    if (const auto found = cache.find(key)) return found->tensor;
    const at::Tensor x = preprocess(catalogue.read(item), model.preprocessing).tensor.to(model.device());
    cache.put(key, std::make_shared<const Result>(Result{x, {}, {}}));
    return x;
  }

  // PNG of the picture the network sees, or its thumbnail.
  Spec picture_spec(const DataItem& item, bool thumbnail) {
    return {"picture|" + item.key + (thumbnail ? "|thumb" : ""), "picture of " + item.key,
            [this, &item, thumbnail] {
              at::Tensor picture = preprocess(catalogue.read(item), model.preprocessing).image;
              if (thumbnail) {
                const at::Tensor planes = picture.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
                picture = at::adaptive_avg_pool2d(planes, {kThumbnail, kThumbnail})[0]
                              .permute({1, 2, 0})
                              .round()
                              .clamp(0, 255)
                              .to(at::kByte)
                              .contiguous();
              }
              return Result{{}, {}, encode_image(picture, ".png")};
            }};
  }

  // Softmax probabilities [K] (float64) of an item.
  Spec prediction_spec(const DataItem& item) {
    return {"predict|" + item.key, "prediction of " + item.key, [this, &item] {
              const at::Tensor logits = model.logits(input_of(item));
              const at::Tensor probabilities = at::softmax(logits.to(at::kCPU, at::kDouble), 1)[0];
              return Result{probabilities.contiguous(), {}, {}};
            }};
  }

  Json prediction(const DataItem& item, int64_t top) {
    const at::Tensor probabilities = obtain(prediction_spec(item))->tensor;
    const auto [values, indices] = probabilities.topk(std::min<int64_t>(top, probabilities.size(0)));
    Json classes = Json::array();
    for (int64_t k = 0; k < values.size(0); ++k) {
      const int64_t cls = indices[k].item<int64_t>();
      classes.push_back({{"index", cls}, {"label", label_of(cls)}, {"probability", values[k].item<double>()}});
    }
    {
      std::lock_guard lock(labels_mutex);
      if (!labels.count(item.key)) labels[item.key] = classes[0]["label"].get<std::string>();
    }
    return Json{{"image", item.key}, {"classes", classes}};
  }

  // One method's map [H, W] (float32) of an item for a target, with its facts.
  Spec map_spec(const Query& query) {
    const DataItem& item = catalogue.find(query.required("image"));
    const MethodInfo& method = find_method(query.required("method"));
    const std::string target_text = query.text("target", "top1");
    const Target target = Target::parse(target_text);
    const Params params = query.params();
    check_parameters({method.name}, params);
    return {"map|" + item.key + "|" + target_text + "|" + method.name + "|" + key_of(params),
            method.name + " of " + item.key, [this, &item, &method, target, params] {
              const at::Tensor x = input_of(item);
              const auto start = std::chrono::steady_clock::now();
              const Explanation e = explain(model, x, {method.name}, target, params).begin()->second;
              const double seconds =
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
              const at::Tensor map = e.map[0].detach().to(at::kCPU, at::kFloat).contiguous();
              const int64_t cls = e.classes.at(0);
              const at::Tensor probabilities = at::softmax(e.logits.to(at::kCPU, at::kDouble), 1);
              Json stats = Json::object();
              for (const auto& [name, value] : e.stats) stats[name] = value;
              return Result{map,
                            {{"image", item.key},
                             {"method", method.name},
                             {"family", to_string(method.family)},
                             {"class", cls},
                             {"label", label_of(cls)},
                             {"probability", probabilities[0][cls].item<double>()},
                             {"signed", e.is_signed},
                             {"layer", e.layer},
                             {"min", map.min().item<double>()},
                             {"max", map.max().item<double>()},
                             {"height", map.size(0)},
                             {"width", map.size(1)},
                             {"seconds", seconds},
                             {"stats", stats}},
                            {}};
            }};
  }

  // A deletion or insertion curve of a method's map.
  Spec curve_spec(const Query& query) {
    Spec map = map_spec(query);
    const std::string kind = query.text("curve", "deletion");
    if (kind != "deletion" && kind != "insertion") {
      throw Refusal(400, "'curve' must be deletion or insertion, not '" + kind.substr(0, 40) + "'");
    }
    metrics::PerturbationOptions options;
    options.steps = query.integer("steps", 56, 1, kMostCurveSteps);
    const DataItem& item = catalogue.find(query.required("image"));
    return {kind + "|" + std::to_string(options.steps) + "|" + map.key,
            kind + " curve of " + map.title, [this, &item, kind, options, map] {
              const auto drawn = obtain_here(map);
              const int64_t cls = drawn->meta.at("class").get<int64_t>();
              const at::Tensor x = input_of(item)[0];
              const at::Tensor values = drawn->tensor.to(model.device());
              const metrics::Curve curve = kind == "deletion"
                                               ? metrics::deletion(model, x, values, cls, options)
                                               : metrics::insertion(model, x, values, cls, options);
              return Result{{}, {{"kind", kind}, {"fraction", curve.fraction}, {"score", curve.score}, {"auc", curve.auc}}, {}};
            }};
  }

  // The top concepts of an item at a layer: shares and conditional maps [k, H, W].
  Spec concepts_spec(const Query& query) {
    const DataItem& item = catalogue.find(query.required("image"));
    const std::string layer = query.text("layer", layers.empty() ? "" : layers.back());
    ConceptOptions options;
    options.method = query.text("method", "lrp");
    const auto valid = concept_methods();
    options.method = find_method(options.method).name;
    if (std::find(valid.begin(), valid.end(), options.method) == valid.end()) {
      throw Refusal(400, "concepts need a relevance method (" + options.method + " is not one)");
    }
    options.top = query.integer("top", 6, 1, kMostConcepts);
    options.params = query.params();
    check_parameters({options.method}, options.params);
    const std::string target_text = query.text("target", "top1");
    const Target target = Target::parse(target_text);
    return {"concepts|" + item.key + "|" + target_text + "|" + layer + "|" + options.method + "|" +
                std::to_string(options.top) + "|" + key_of(options.params),
            "concepts of " + item.key, [this, &item, layer, target, options] {
              const Concepts found = concepts(model, input_of(item), layer, target, options);
              std::vector<double> shares;
              for (int64_t c : found.channels) shares.push_back(found.relevance[c].item<double>());
              return Result{found.maps.to(at::kCPU, at::kFloat).contiguous(),
                            {{"image", item.key},
                             {"layer", found.layer},
                             {"method", found.method},
                             {"class", found.target},
                             {"label", label_of(found.target)},
                             {"channels", found.channels},
                             {"shares", shares}},
                            {}};
            }};
  }

  Spec spec_of(const std::string& kind, const Query& query) {
    if (kind == "map") return map_spec(query);
    if (kind == "curve") return curve_spec(query);
    if (kind == "concepts") return concepts_spec(query);
    throw Refusal(400, "'job' must be map, curve or concepts, not '" + kind.substr(0, 40) + "'");
  }

  // ---- answers ------------------------------------------------------------------------------

  Json info() const {
    Json methods_json = Json::array();
    for (const auto& method : methods()) {
      Json parameters = Json::array();
      for (const auto& h : parameters_of(method)) parameters.push_back(hyperparameter_json(h));
      methods_json.push_back({{"name", method.name},
                              {"family", to_string(method.family)},
                              {"summary", method.summary},
                              {"class_discriminative", method.class_discriminative},
                              {"resolution", to_string(method.resolution)},
                              {"cost", method.cost},
                              {"citation", method.citation},
                              {"parameters", parameters}});
    }
    const auto shape = input_shape();
    return {{"model", model.path().filename().string()},
            {"input", {shape[1], shape[2], shape[3]}},
            {"classes", model.num_classes()},
            {"images", catalogue.items().size()},
            {"methods", methods_json},
            {"layers", layers},
            {"concept_methods", concept_methods()},
            {"evaluation", !evaluation.is_null()},
            {"cache_bytes", cache.budget()},
            {"cache_used", cache.used()}};
  }

  Json images(const Query& query) const {
    const int64_t offset = query.integer("offset", 0, 0, 1LL << 40);
    const int64_t limit = query.integer("limit", 60, 1, kMostPage);
    std::map<std::string, std::string> known;
    {
      std::lock_guard lock(labels_mutex);
      known = labels;
    }
    const auto found = catalogue.search(query.text("q"), known);
    Json page = Json::array();
    for (int64_t i = offset; i < std::min<int64_t>(offset + limit, static_cast<int64_t>(found.size())); ++i) {
      const auto label = known.find(found[i]->key);
      page.push_back({{"name", found[i]->key},
                      {"label", label == known.end() ? Json(nullptr) : Json(label->second)}});
    }
    return {{"total", found.size()}, {"offset", offset}, {"images", page}};
  }

  void routes() {
    // Every answer goes through here: a refusal or failure becomes a status and one line.
    const auto guard = [](auto handler) {
      return [handler](const httplib::Request& request, httplib::Response& response) {
        try {
          handler(request, response);
        } catch (const std::exception& e) {
          send_error(response, status_of(e), e.what());
        } catch (...) {
          send_error(response, 500, "unknown error");
        }
      };
    };
    for (const auto& [path, content] : serve::page_files()) {
      const std::string type = path.ends_with(".js")    ? "text/javascript; charset=utf-8"
                               : path.ends_with(".css") ? "text/css; charset=utf-8"
                                                        : "text/html; charset=utf-8";
      const std::string body(content);
      const auto answer = [body, type](const httplib::Request&, httplib::Response& response) {
        response.set_content(body, type);
      };
      http.Get(std::string(path), answer);
      if (path == "/index.html") http.Get("/", answer);
    }
    http.Get("/api/info", guard([this](const auto&, auto& response) { send_json(response, info()); }));
    http.Get("/api/images", guard([this](const auto& request, auto& response) {
               send_json(response, images(Query(request)));
             }));
    http.Get("/api/image", guard([this](const auto& request, auto& response) {
               const Query query(request);
               const DataItem& item = catalogue.find(query.required("image"));
               const std::string size = query.text("size", "input");
               if (size != "input" && size != "thumb") {
                 throw Refusal(400, "'size' must be input or thumb");
               }
               response.set_content(obtain_here(picture_spec(item, size == "thumb"))->bytes,
                                    "image/png");
             }));
    http.Get("/api/predict", guard([this](const auto& request, auto& response) {
               const Query query(request);
               const DataItem& item = catalogue.find(query.required("image"));
               send_json(response, prediction(item, query.integer("top", 5, 1, 1000)));
             }));
    http.Get("/api/map", guard([this](const auto& request, auto& response) {
               const Query query(request);
               const std::string format = query.text("format", "json");
               if (format != "json" && format != "npy" && format != "png") {
                 throw Refusal(400, "'format' must be json, npy or png");
               }
               const Spec spec = map_spec(query);
               const auto map = obtain(spec);
               if (format == "npy") {
                 response.set_content(npy_bytes(map->tensor), "application/octet-stream");
               } else if (format == "png") {
                 const DataItem& item = catalogue.find(query.required("image"));
                 const at::Tensor picture = preprocess(catalogue.read(item), model.preprocessing).image;
                 response.set_content(
                     encode_image(overlay(picture, heat(map->tensor, map->meta.at("signed").get<bool>()), 0.5), ".png"),
                     "image/png");
               } else {
                 send_json(response, map->meta);
               }
             }));
    http.Get("/api/curve", guard([this](const auto& request, auto& response) {
               send_json(response, obtain(curve_spec(Query(request)))->meta);
             }));
    http.Get("/api/concepts", guard([this](const auto& request, auto& response) {
               const Query query(request);
               const auto found = obtain(concepts_spec(query));
               if (query.text("format", "json") == "npy") {
                 response.set_content(npy_bytes(found->tensor), "application/octet-stream");
               } else {
                 send_json(response, found->meta);
               }
             }));
    http.Get("/api/eval", guard([this](const auto&, auto& response) {
               if (evaluation.is_null()) throw Refusal(404, "this viewer was started without --eval");
               send_json(response, evaluation);
             }));
    // The page asks for long computations as jobs, which it can follow and cancel.
    http.Post("/api/jobs", guard([this](const auto& request, auto& response) {
                const Query query(request);
                const Spec spec = spec_of(query.text("job", "map"), query);
                if (cache.find(spec.key)) {
                  send_json(response, Json{{"state", "done"}, {"title", spec.title}});
                  return;
                }
                const auto job = submit(spec);
                Json described = jobs.describe(job->id);
                send_json(response, described.is_null() ? Json{{"state", "cancelled"}} : described);
              }));
    http.Get(R"(/api/jobs/(\d{1,12}))", guard([this](const auto& request, auto& response) {
               const Json described = jobs.describe(request.matches[1].str());
               if (described.is_null()) throw Refusal(404, "no job " + std::string(request.matches[1]));
               send_json(response, described);
             }));
    http.Delete(R"(/api/jobs/(\d{1,12}))", guard([this](const auto& request, auto& response) {
                  if (!jobs.cancel(request.matches[1].str())) {
                    throw Refusal(404, "no job " + std::string(request.matches[1]) + " under way");
                  }
                  send_json(response, Json{{"cancelled", true}});
                }));
    http.set_error_handler([](const httplib::Request& request, httplib::Response& response) {
      if (response.body.empty()) {
        send_error(response, response.status,
                   response.status == 404 ? "no such page: " + request.path.substr(0, 80)
                                          : "the request was refused (HTTP " +
                                                std::to_string(response.status) + ")");
      }
    });
  }

  Model model;
  const ServeOptions options;
  const serve::Catalogue catalogue;
  serve::Cache cache;
  serve::JobQueue jobs;
  Json evaluation;  // results.json of --eval, or null
  std::vector<std::string> layers;
  mutable std::mutex labels_mutex;
  std::map<std::string, std::string> labels;  // by key: the list's class, else the prediction
  httplib::Server http;
  std::thread listener, computer;  // the HTTP server's, and the jobs' unless run() lends one
  std::mutex join_mutex;           // one thread joins them
  std::atomic<bool> listening_ended{false};
  std::atomic<int> port{0};
};

Server::Server(Model model, ServeOptions options)
    : state_(std::make_unique<State>(std::move(model), std::move(options))) {}

Server::~Server() {
  stop();
  wait();
}

void Server::start() {
  start_listening();
  state_->computer = std::thread([this] { state_->jobs.work(); });
}

void Server::start_listening() {
  State& s = *state_;
  if (s.listener.joinable()) throw Error("the viewer is already started");
  s.routes();
  const int connections = std::max(2, s.options.connections);
  s.http.new_task_queue = [connections] { return new httplib::ThreadPool(connections); };
  s.http.set_payload_max_length(64 << 10);
  s.http.set_keep_alive_timeout(2);
  s.http.set_read_timeout(10);
  if (s.options.port == 0) {
    s.port = s.http.bind_to_any_port(s.options.host);
  } else {
    s.port = s.http.bind_to_port(s.options.host, s.options.port) ? s.options.port : -1;
  }
  if (s.port <= 0) {
    throw Error("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) +
                " (in use, or not an address of this machine)");
  }
  s.listener = std::thread([&s] {
    s.http.listen_after_bind();
    s.listening_ended = true;
  });
  while (!s.http.is_running() && !s.listening_ended) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s.http.is_running()) {
    stop();
    wait();
    throw Error("cannot serve on " + url());
  }
}

void Server::run(const std::function<void()>& ready) {
  start_listening();
  if (ready) ready();
  state_->jobs.work();
  wait();
}

void Server::wait() {
  std::lock_guard lock(state_->join_mutex);
  if (state_->listener.joinable()) state_->listener.join();
  if (state_->computer.joinable()) state_->computer.join();
}

void Server::stop() {
  state_->http.stop();
  state_->jobs.stop();
}

int Server::port() const { return state_->port; }

std::string Server::url() const {
  const std::string& host = state_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(state_->port) + "/";
}

}  // namespace whitebox
