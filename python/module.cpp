// The compiled part of the Python package (whitebox._whitebox): the C++ library's calls on NumPy
// arrays. Arrays cross without copies where their memory allows: a C-contiguous float32 / float64
// input is wrapped as an ATen tensor, and every result is a NumPy view of the tensor that holds
// it. The long calls run with the GIL released, on a worker thread, so that Ctrl-C interrupts
// them between two nodes of the network (request_interrupt()). whitebox/__init__.py builds the
// Python API on top.
#include <ATen/ATen.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "whitebox/concepts.hpp"
#include "whitebox/data.hpp"
#include "whitebox/dataset.hpp"
#include "whitebox/error.hpp"
#include "whitebox/explain.hpp"
#include "whitebox/files.hpp"
#include "whitebox/image.hpp"
#include "whitebox/limits.hpp"
#include "whitebox/metrics.hpp"
#include "whitebox/model.hpp"
#include "whitebox/patterns.hpp"
#include "whitebox/randomisation.hpp"
#include "whitebox/render.hpp"
#include "whitebox/report.hpp"
#include "whitebox/run_folder.hpp"
#include "whitebox/serve.hpp"
#include "whitebox/runtime.hpp"
#include "whitebox/tcav.hpp"

namespace py = pybind11;
using namespace whitebox;

namespace {

// ---- arrays ----------------------------------------------------------------------------------

// The element types read in place; any other number type is read as float32.
std::optional<at::ScalarType> scalar_type(const py::array& array) {
  if (py::isinstance<py::array_t<float>>(array)) return at::kFloat;
  if (py::isinstance<py::array_t<double>>(array)) return at::kDouble;
  if (py::isinstance<py::array_t<uint8_t>>(array)) return at::kByte;
  if (py::isinstance<py::array_t<bool>>(array)) return at::kBool;
  return std::nullopt;
}

// A NumPy array as a tensor. A C-contiguous array of a type above is read in place (no copy);
// any other layout (Fortran order, a transpose, a strided or reversed slice) or type is first
// copied by NumPy into a C-contiguous array. Either way the tensor holds a reference to the array
// it reads, so that the memory lives as long as the tensor, whatever the caller does with its own
// array and whichever thread lets the tensor go.
at::Tensor to_tensor(const py::array& array) {
  py::array source = array;
  std::optional<at::ScalarType> type = scalar_type(array);
  if (!type) {
    source = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(array);
    type = at::kFloat;
  } else if (!(array.flags() & py::array::c_style)) {
    source = py::array::ensure(array, py::array::c_style);
  }
  if (!source) throw py::error_already_set();
  std::vector<int64_t> shape(source.shape(), source.shape() + source.ndim());
  auto* owner = new py::object(source);
  return at::from_blob(
      const_cast<void*>(source.data()), shape,
      [owner](void*) {
        py::gil_scoped_acquire gil;
        delete owner;
      },
      at::TensorOptions().dtype(*type));
}

// A tensor as a NumPy array on its memory: the array's base object keeps the tensor alive.
py::array to_array(const at::Tensor& tensor) {
  at::Tensor t = tensor.to(at::kCPU).contiguous();
  py::dtype dtype;
  switch (t.scalar_type()) {
    case at::kFloat: dtype = py::dtype::of<float>(); break;
    case at::kDouble: dtype = py::dtype::of<double>(); break;
    case at::kByte: dtype = py::dtype::of<uint8_t>(); break;
    case at::kBool: dtype = py::dtype::of<bool>(); break;
    case at::kLong: dtype = py::dtype::of<int64_t>(); break;
    default: t = t.to(at::kFloat), dtype = py::dtype::of<float>();
  }
  std::vector<py::ssize_t> shape(t.sizes().begin(), t.sizes().end());
  std::vector<py::ssize_t> strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<py::ssize_t>(t.element_size()));
  auto* owner = new at::Tensor(t);
  py::capsule base(owner, [](void* p) { delete static_cast<at::Tensor*>(p); });
  return py::array(dtype, shape, strides, t.data_ptr(), base);
}

// A long call's steps (randomisation steps, report images) as the progress count it shows.
void count_steps(size_t done, size_t total) {
  reset_progress();
  plan_inputs(static_cast<int64_t>(total));
  inputs_done(static_cast<int64_t>(done));
}

// ---- long calls ------------------------------------------------------------------------------

// The thread that runs every long call. A thread's first parallel region initialises ATen's
// threading for it, which also empties oneDNN's cache of compiled convolutions: a fresh thread
// per call would compile them again every time (saliency on ResNet-50 took 1.7x as long).
class Worker {
 public:
  static Worker& instance() {
    static Worker* worker = new Worker;  // never destroyed: its thread ends with the process
    return *worker;
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  Worker() { std::thread([this] { run(); }).detach(); }
  void run() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [this] { return !tasks_.empty(); });
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
};

// Runs f() on the worker thread with the GIL released; the calling thread checks for signals
// every 50 ms and, on Ctrl-C, stops the computation at its next node and raises
// KeyboardInterrupt. A `progress` callable, when given, is called there too with the inputs the
// many-forward methods and metrics have passed and planned so far (whitebox/runtime.hpp).
template <typename F>
auto interruptible(F f, const py::object& progress = py::none()) -> decltype(f()) {
  std::packaged_task<decltype(f())()> task([&f] {
    adopt_threads();
    return f();
  });
  auto result = task.get_future();
  reset_progress();
  Worker::instance().post([&task] { task(); });  // the task outlives it: we wait for it below
  ProgressCount shown;
  while (true) {
    std::future_status status;
    {
      py::gil_scoped_release release;
      status = result.wait_for(std::chrono::milliseconds(50));
    }
    if (status == std::future_status::ready) break;
    bool stop = PyErr_CheckSignals() != 0;
    if (!stop && !progress.is_none()) {
      const ProgressCount now = whitebox::progress();
      if (now.done != shown.done || now.planned != shown.planned) {
        shown = now;
        PyObject* returned = PyObject_CallFunction(progress.ptr(), "LL",
                                                   static_cast<long long>(now.done),
                                                   static_cast<long long>(now.planned));
        stop = returned == nullptr;
        Py_XDECREF(returned);
      }
    }
    if (stop) {
      // The task reads the caller's variables: let it stop before raising.
      request_interrupt();
      {
        py::gil_scoped_release release;
        result.wait();
      }
      clear_interrupt();
      throw py::error_already_set();
    }
  }
  return result.get();
}

// The target of a call with one image: None (top class), a text ("top3", a label) or [index].
Target single_target(const py::object& target) {
  if (target.is_none()) return Target::top();
  if (py::isinstance<py::str>(target)) return Target::parse(target.cast<std::string>());
  const auto classes = target.cast<std::vector<int64_t>>();
  if (classes.size() != 1) throw ArgumentError("concepts take one image and one target");
  return Target::index(classes[0]);
}

ConceptOptions concept_options(const std::string& method,
                               const std::map<std::string, std::string>& params,
                               const std::vector<int64_t>& channels, int64_t top,
                               const std::vector<std::pair<std::string, std::vector<int64_t>>>& conditions,
                               bool maps, int64_t batch) {
  ConceptOptions options;
  options.method = method;
  options.params = Params(params);
  options.channels = channels;
  options.top = top;
  for (const auto& [layer, kept] : conditions) options.conditions.push_back({layer, kept});
  options.maps = maps;
  options.batch = batch;
  return options;
}

py::dict explanation_dict(const Explanation& e) {
  py::dict d;
  d["method"] = e.method;
  d["map"] = to_array(e.map);
  d["attribution"] = to_array(e.attribution);
  d["is_signed"] = e.is_signed;
  d["layer"] = e.layer;
  d["stats"] = e.stats;
  return d;
}

// A declared option: its name, default (as the command line writes it), type and meaning.
py::list parameter_list(const std::vector<Hyperparameter>& declared) {
  static const char* const kinds[] = {"text", "integer", "number", "choice"};
  py::list params;
  for (const auto& h : declared) {
    params.append(py::dict(py::arg("name") = h.name, py::arg("default") = h.fallback,
                           py::arg("type") = kinds[static_cast<int>(h.type)],
                           py::arg("takes") = h.describe(), py::arg("meaning") = h.meaning));
  }
  return params;
}

py::dict method_dict(const MethodInfo& m) {
  const py::list params = parameter_list(m.hyperparameters);
  return py::dict(py::arg("name") = m.name, py::arg("aliases") = m.aliases,
                  py::arg("family") = to_string(m.family), py::arg("summary") = m.summary,
                  py::arg("class_discriminative") = m.class_discriminative,
                  py::arg("needs_gradient") = m.needs_gradient,
                  py::arg("needs_reference") = m.needs_reference,
                  py::arg("resolution") = to_string(m.resolution), py::arg("cost") = m.cost,
                  py::arg("hyperparameters") = params, py::arg("citation") = m.citation,
                  py::arg("mathematics") = std::string(mathematics(m.name)));
}

py::dict metric_dict(const metrics::MetricInfo& m) {
  py::list values;
  for (const auto& [name, higher] : m.values) {
    values.append(py::dict(py::arg("name") = name, py::arg("higher_is_better") = higher));
  }
  return py::dict(py::arg("name") = m.name, py::arg("group") = metrics::to_string(m.group),
                  py::arg("summary") = m.summary, py::arg("citation") = m.citation,
                  py::arg("needs_model") = m.needs_model, py::arg("needs_mask") = m.needs_mask,
                  py::arg("needs_reference") = m.needs_reference,
                  py::arg("needs_explainer") = m.needs_explainer,
                  py::arg("over_dataset") = m.over_dataset(), py::arg("values") = values,
                  py::arg("curves") = m.curves, py::arg("batched") = static_cast<bool>(m.run_batch),
                  py::arg("parameters") = parameter_list(m.parameters));
}

// One image as the metrics see it.
metrics::Sample sample_of(const std::shared_ptr<Model>& model, const at::Tensor& image,
                          const at::Tensor& map, int64_t cls, const std::string& method,
                          const std::map<std::string, std::string>& method_params) {
  metrics::Sample sample;
  sample.model = model.get();
  sample.image = image;
  sample.map = map;
  sample.cls = cls;
  sample.method = method;
  sample.method_params = Params(method_params);
  return sample;
}

// The metric by name with its options checked; throws ArgumentError when it needs a model and
// has none.
const metrics::MetricInfo& checked_metric(const std::string& name, const Model* model,
                                          const Params& params) {
  const metrics::MetricInfo& info = metrics::find_metric(name);
  if (info.needs_model && !model) throw ArgumentError("metric " + name + " needs the model");
  metrics::check_parameters({info.name}, params);
  return info;
}

}  // namespace

PYBIND11_MODULE(_whitebox, m) {
  m.doc() = "The compiled core of the whitebox package; use the `whitebox` module instead.";
  m.attr("__version__") = WHITEBOX_VERSION;  // project()'s version, as `whitebox --version`

  // Exceptions: Python's own types where one fits, whitebox's where a user may want to catch
  // exactly that.
  static py::exception<UnsupportedOperator> unsupported(m, "UnsupportedOperator", PyExc_ValueError);
  static py::exception<NumericalError> numerical(m, "NumericalError", PyExc_ArithmeticError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const UnsupportedOperator& e) {
      unsupported(e.what());
    } catch (const NumericalError& e) {
      numerical(e.what());
    } catch (const FileError& e) {
      PyErr_SetString(PyExc_FileNotFoundError, e.what());
    } catch (const Interrupted& e) {
      PyErr_SetString(PyExc_KeyboardInterrupt, e.what());
    } catch (const Error& e) {
      // ArgumentError, LookupError, InputError, ModelFormatError: a value the caller gave.
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<Model, std::shared_ptr<Model>>(m, "Model")
      .def_static(
          "load",
          [](const std::filesystem::path& path, const std::string& dtype) {
            LoadOptions options;
            if (dtype != "float32" && dtype != "float64") {
              throw ArgumentError("dtype must be float32 or float64, not " + dtype);
            }
            options.dtype = dtype == "float64" ? at::kDouble : at::kFloat;
            return std::make_shared<Model>(Model::load(path, options));
          },
          py::arg("path"), py::arg("dtype") = "float32")
      .def_property_readonly("input_shape", &Model::input_shape)
      .def_property_readonly("num_classes", &Model::num_classes)
      .def_property_readonly("path", [](const Model& model) { return model.path().string(); })
      .def_property_readonly("dtype", [](const Model& model) {
        return model.dtype() == at::kDouble ? "float64" : "float32";
      })
      .def_readwrite("labels", &Model::labels)
      // The graph's nodes in topological order: name, operator, input and output value names.
      .def_property_readonly("nodes",
                             [](const Model& model) {
                               const Graph& graph = model.graph();
                               const auto names = [&graph](const std::vector<ValueId>& ids) {
                                 std::vector<std::string> out;
                                 for (ValueId v : ids)
                                   out.push_back(v == kNoValue ? "" : graph.values[v].name);
                                 return out;
                               };
                               py::list nodes;
                               for (const Node& node : graph.nodes) {
                                 nodes.append(py::dict(py::arg("name") = node.name,
                                                       py::arg("op") = node.op_type,
                                                       py::arg("inputs") = names(node.inputs),
                                                       py::arg("outputs") = names(node.outputs)));
                               }
                               return nodes;
                             })
      .def_property(
          "preprocessing",
          [](const Model& model) {
            const Preprocessing& p = model.preprocessing;
            return py::dict(py::arg("name") = p.name, py::arg("width") = p.width,
                            py::arg("height") = p.height, py::arg("crop") = p.crop,
                            py::arg("mean") = p.mean, py::arg("std") = p.std);
          },
          [](Model& model, const py::dict& d) {
            Preprocessing p = d.contains("name")
                                  ? Preprocessing::preset(d["name"].cast<std::string>(), model.preprocessing.width,
                                                          model.preprocessing.height)
                                  : model.preprocessing;
            if (d.contains("width")) p.width = d["width"].cast<int>();
            if (d.contains("height")) p.height = d["height"].cast<int>();
            if (d.contains("crop")) p.crop = d["crop"].cast<double>();
            if (d.contains("mean")) p.mean = d["mean"].cast<std::array<double, 3>>();
            if (d.contains("std")) p.std = d["std"].cast<std::array<double, 3>>();
            model.preprocessing = p;
          })
      .def("logits",
           [](const Model& model, const py::array& x) {
             const at::Tensor input = to_tensor(x);
             return to_array(interruptible([&] { return model.logits(input.to(model.dtype())); }));
           })
      .def("explain",
           [](const Model& model, const py::array& x, const std::vector<std::string>& methods,
              const py::object& target, const std::map<std::string, std::string>& params,
              const py::object& progress) {
             const at::Tensor input = to_tensor(x);
             const Params p(params);
             std::map<std::string, Explanation> result;
             if (target.is_none()) {
               result = interruptible(
                   [&] { return explain(model, input, methods, Target::top(), p); }, progress);
             } else if (py::isinstance<py::str>(target)) {
               const Target t = Target::parse(target.cast<std::string>());
               result =
                   interruptible([&] { return explain(model, input, methods, t, p); }, progress);
             } else {
               const auto classes = target.cast<std::vector<int64_t>>();
               result = interruptible([&] { return explain(model, input, methods, classes, p); },
                                      progress);
             }
             py::dict out;
             for (const auto& [name, e] : result) out[py::str(name)] = explanation_dict(e);
             return out;
           },
           py::arg("x"), py::arg("methods"), py::arg("target"), py::arg("params"),
           py::arg("progress") = py::none());

  // Concept relevance of one image (whitebox/concepts.hpp).
  m.def(
      "concepts",
      [](const std::shared_ptr<Model>& model, const py::array& x, const std::string& layer,
         const py::object& target, const std::string& method,
         const std::map<std::string, std::string>& params, const std::vector<int64_t>& channels,
         int64_t top, const std::vector<std::pair<std::string, std::vector<int64_t>>>& conditions,
         bool maps, int64_t batch, const py::object& progress) {
        const at::Tensor input = to_tensor(x);
        const ConceptOptions options =
            concept_options(method, params, channels, top, conditions, maps, batch);
        const Concepts c = interruptible(
            [&] { return concepts(*model, input, layer, single_target(target), options); },
            progress);
        py::dict d;
        d["method"] = c.method;
        d["layer"] = c.layer;
        d["target"] = c.target;
        d["seed"] = c.seed;
        d["magnitude"] = c.magnitude;
        d["relevance"] = to_array(c.relevance);
        d["channels"] = c.channels;
        d["maps"] = c.maps.defined() ? py::object(to_array(c.maps)) : py::object(py::none());
        d["attributions"] = c.attributions.defined() ? py::object(to_array(c.attributions))
                                                     : py::object(py::none());
        return d;
      },
      py::arg("model"), py::arg("x"), py::arg("layer"), py::arg("target"), py::arg("method"),
      py::arg("params"), py::arg("channels"), py::arg("top"), py::arg("conditions"),
      py::arg("maps"), py::arg("batch"), py::arg("progress") = py::none());
  m.def(
      "channel_peaks",
      [](const std::shared_ptr<Model>& model, const py::array& x, const std::string& layer) {
        return to_array(channel_peaks(*model, to_tensor(x), layer));
      },
      py::arg("model"), py::arg("x"), py::arg("layer"));
  m.def("patch_box", [](const py::array& map, double fraction) {
    return patch_box(to_tensor(map), fraction);
  });
  m.def(
      "concept_graph",
      [](const std::shared_ptr<Model>& model, const py::array& x,
         const std::vector<std::string>& layers, const py::object& target,
         const std::string& method, const std::map<std::string, std::string>& params,
         const std::vector<int64_t>& channels, int64_t top, int64_t subtop,
         const std::vector<std::pair<std::string, std::vector<int64_t>>>& conditions, bool maps,
         int64_t batch, const py::object& progress) {
        const at::Tensor input = to_tensor(x);
        const ConceptOptions options =
            concept_options(method, params, channels, top, conditions, maps, batch);
        const auto nodes = interruptible(
            [&] {
              return concept_graph(*model, input, layers, single_target(target), options, subtop);
            },
            progress);
        py::list out;
        for (const ConceptNode& n : nodes) {
          py::dict node(py::arg("layer") = n.layer, py::arg("channel") = n.channel,
                        py::arg("relevance") = n.relevance, py::arg("parent") = n.parent);
          if (n.map.defined()) node["map"] = to_array(n.map);
          out.append(node);
        }
        return out;
      },
      py::arg("model"), py::arg("x"), py::arg("layers"), py::arg("target"), py::arg("method"),
      py::arg("params"), py::arg("channels"), py::arg("top"), py::arg("subtop"),
      py::arg("conditions"), py::arg("maps"), py::arg("batch"), py::arg("progress") = py::none());
  m.def("concept_methods", &concept_methods);

  // TCAV (whitebox/tcav.hpp): concepts are (name, images) pairs of model inputs.
  m.def(
      "tcav",
      [](const std::shared_ptr<Model>& model, const std::string& layer,
         const std::vector<std::pair<std::string, py::array>>& concepts, const py::array& random,
         const py::array& images, const py::object& target, int64_t runs, int64_t examples,
         uint64_t seed, double alpha, bool bonferroni, int64_t batch, const py::object& progress) {
        std::vector<ConceptExamples> examples_of;
        for (const auto& [name, array] : concepts) examples_of.push_back({name, to_tensor(array)});
        const at::Tensor pool = to_tensor(random), scored = to_tensor(images);
        TcavOptions options;
        options.runs = runs;
        options.examples = examples;
        options.seed = seed;
        options.alpha = alpha;
        options.bonferroni = bonferroni;
        options.batch = batch;
        const Target chosen = target.is_none() ? Target::top()
                              : py::isinstance<py::str>(target)
                                  ? Target::parse(target.cast<std::string>())
                                  : Target::index(target.cast<int64_t>());
        const TcavResult r = interruptible(
            [&] { return tcav(*model, layer, examples_of, pool, scored, chosen, options); },
            progress);
        py::list found;
        for (const TcavConcept& c : r.concepts) {
          found.append(py::dict(
              py::arg("name") = c.name, py::arg("scores") = c.scores, py::arg("mean") = c.mean,
              py::arg("std") = c.std, py::arg("cav_accuracies") = c.cav_accuracies,
              py::arg("cav_accuracy") = c.cav_accuracy, py::arg("t") = c.t,
              py::arg("p_value") = c.p_value, py::arg("significant") = c.significant));
        }
        return py::dict(
            py::arg("layer") = r.layer, py::arg("target") = r.target, py::arg("images") = r.images,
            py::arg("examples") = r.examples, py::arg("random_scores") = r.random_scores,
            py::arg("random_mean") = r.random_mean, py::arg("random_std") = r.random_std,
            py::arg("threshold") = r.threshold, py::arg("concepts") = found);
      },
      py::arg("model"), py::arg("layer"), py::arg("concepts"), py::arg("random"), py::arg("images"),
      py::arg("target"), py::arg("runs"), py::arg("examples"), py::arg("seed"), py::arg("alpha"),
      py::arg("bonferroni"), py::arg("batch"), py::arg("progress") = py::none());
  m.def("read_inputs",
        [](const std::filesystem::path& folder, const std::shared_ptr<Model>& model) {
          return to_array(read_inputs(folder, model->preprocessing));
        });

  // The images of a data set, as the command line reads them (whitebox/dataset.hpp).
  py::class_<DataItem>(m, "DataItem")
      .def_readonly("key", &DataItem::key)
      .def_property_readonly("file", [](const DataItem& item) { return item.file.string(); })
      .def_readonly("target", &DataItem::target)
      .def_readonly("origin", &DataItem::origin);
  m.def("data_item", [](const std::filesystem::path& file) { return data_item(file); });
  m.def("read_folder", [](const std::filesystem::path& folder, const std::string& boxes,
                          const std::string& masks, const std::string& gaze) {
    return read_folder(folder, boxes, masks, gaze);
  });
  m.def("read_list", [](const std::filesystem::path& list, const std::shared_ptr<Model>& model) {
    return read_list(list, *model);
  });
  // One item as the metrics read it: (x [1, C, H, W], mask [H, W] or None, reference or None).
  m.def("load_item", [](const DataItem& item, const std::shared_ptr<Model>& model) {
    const at::Tensor picture = read_image(item.file);
    const Input input = preprocess(picture, model->preprocessing);
    const Annotations a = annotations(item, picture, model->preprocessing);
    const auto optional = [](const at::Tensor& t) {
      return t.defined() ? py::object(to_array(t)) : py::object(py::none());
    };
    return py::make_tuple(to_array(input.tensor), optional(a.mask), optional(a.reference));
  });
  // The locked output folder of a resumable run, shared with the command line
  // (whitebox/run_folder.hpp): a context manager that holds the lock until its block ends.
  py::class_<RunFolder>(m, "RunFolder")
      .def(py::init<std::filesystem::path, const std::string&, const std::string&>(),
           py::arg("folder"), py::arg("settings"), py::arg("argument") = "folder")
      .def_property_readonly("path", [](const RunFolder& f) { return f.path().string(); })
      .def("prepare_records", &RunFolder::prepare_records, py::arg("records"))
      .def("release", &RunFolder::release)
      .def(
          "__enter__", [](RunFolder& f) -> RunFolder& { return f; },
          py::return_value_policy::reference)
      .def("__exit__", [](RunFolder& f, const py::args&) { f.release(); });
  // Atomic writes (a temporary renamed: never a half-written file) and content digests, as the
  // command line's records use them (whitebox/files.hpp). `data`: str (written as UTF-8) or bytes.
  m.def(
      "write_file",
      [](const std::filesystem::path& file, const std::string& data) { write_file(file, data); },
      py::arg("file"), py::arg("data"));
  m.def(
      "file_digest",
      [](const std::filesystem::path& file, const std::string& what) {
        return file_digest(file, what);
      },
      py::arg("file"), py::arg("what") = "file");
  m.def("default_model_path", [] { return default_model().string(); });
  m.def("bundled_path", [](const std::string& name) { return bundled(name).string(); });
  m.def("read_image", [](const std::filesystem::path& path) { return to_array(read_image(path)); });
  m.def("write_image", [](const std::filesystem::path& path, const py::array& picture) {
    write_image(path, to_tensor(picture));
  });
  m.def("preprocess", [](const py::array& image, const std::shared_ptr<Model>& model) {
    const Input input = preprocess(to_tensor(image), model->preprocessing);
    return py::make_tuple(to_array(input.tensor), to_array(input.image));
  });
  m.def("overlay", [](const py::array& image, const py::array& map, double alpha,
                      const std::string& colormap, const std::string& normalization, double percentile) {
    const at::Tensor m = to_tensor(map).to(at::kFloat);
    const Normalization how = parse_normalization(normalization);
    at::Tensor normalized = normalize_map(m, how, percentile);
    const Colormap cmap = parse_colormap(colormap);
    if (how == Normalization::Signed && cmap != Colormap::RedBlue) normalized = (normalized + 1) / 2;
    return to_array(whitebox::overlay(to_tensor(image), colorize(normalized, cmap), alpha));
  });
  m.def("methods", [] {
    py::list out;
    for (const MethodInfo& info : methods()) out.append(method_dict(info));
    return out;
  });
  m.def("find_method", [](const std::string& name) { return find_method(name).name; });
  m.def("metrics", [] {
    py::list out;
    for (const auto& info : metrics::registry()) out.append(metric_dict(info));
    return out;
  });
  // A metric over a batch: images [N, C, H, W], maps [N, H, W], one class per image, masks and
  // references [N, H, W] or None. Returns (values, curves): each value's N numbers by name, and
  // with `curves` each curve's N score lists by name.
  m.def(
      "metric",
      [](const std::string& name, const std::shared_ptr<Model>& model, const py::array& images,
         const py::array& maps, const std::vector<int64_t>& classes, const py::object& masks,
         const py::object& references, const std::string& method,
         const std::map<std::string, std::string>& method_params,
         const std::map<std::string, std::string>& params, bool curves,
         const py::object& progress) {
        const Params p(params);
        const metrics::MetricInfo& info = checked_metric(name, model.get(), p);
        if (info.over_dataset()) {
          throw ArgumentError("metric " + name +
                              " compares the images of a data set: whitebox.metrics.over_dataset");
        }
        const at::Tensor x = to_tensor(images), heat = to_tensor(maps);
        const at::Tensor mask = masks.is_none() ? at::Tensor() : to_tensor(masks).to(at::kBool);
        const at::Tensor reference = references.is_none() ? at::Tensor() : to_tensor(references);
        const int64_t count = x.size(0);
        if (count == 0) throw ArgumentError("metric " + name + ": no images");
        if (heat.size(0) != count || static_cast<int64_t>(classes.size()) != count ||
            (mask.defined() && mask.size(0) != count) ||
            (reference.defined() && reference.size(0) != count)) {
          throw ArgumentError("metric " + name + ": give as many maps, targets, masks and " +
                              "references as images");
        }
        using Curves = std::map<std::string, metrics::Curve>;
        std::vector<std::map<std::string, double>> values(count);
        std::vector<Curves> kept(count);
        interruptible([&] {
          std::vector<metrics::Sample> samples;
          for (int64_t i = 0; i < count; ++i) {
            samples.push_back(sample_of(model, x[i], heat[i], classes[i], method, method_params));
            if (mask.defined()) samples.back().mask = mask[i];
            if (reference.defined()) samples.back().reference = reference[i];
            if (curves) samples.back().curves = &kept[i];
          }
          // Metrics that share forward passes between images take the batch at once.
          if (info.run_batch && count > 1) {
            values = info.run_batch(samples, p);
          } else {
            for (int64_t i = 0; i < count; ++i) values[i] = info.run(samples[i], p);
          }
          return 0;
        }, progress);
        py::dict by_value, by_curve;
        for (const auto& [key, _] : values.front()) {
          std::vector<double> column;
          for (const auto& v : values) column.push_back(v.at(key));
          by_value[py::str(key)] = column;
        }
        for (const auto& [key, _] : kept.front()) {
          py::list column;
          for (const auto& c : kept) column.append(c.at(key).score);
          by_curve[py::str(key)] = column;
        }
        return py::make_tuple(by_value, by_curve);
      },
      py::arg("name"), py::arg("model"), py::arg("images"), py::arg("maps"), py::arg("classes"),
      py::arg("masks"), py::arg("references"), py::arg("method"), py::arg("method_params"),
      py::arg("params"), py::arg("curves"), py::arg("progress") = py::none());
  m.def(
      "dataset_metric",
      [](const std::string& name, const std::shared_ptr<Model>& model,
         const std::vector<py::array>& images, const std::vector<py::array>& maps,
         const std::vector<int64_t>& classes, const std::string& method,
         const std::map<std::string, std::string>& method_params,
         const std::map<std::string, std::string>& params) {
        const Params p(params);
        const metrics::MetricInfo& info = checked_metric(name, model.get(), p);
        if (images.size() != maps.size() || images.size() != classes.size())
          throw ArgumentError("over_dataset needs as many maps and targets as images");
        std::vector<metrics::Sample> samples;
        for (size_t i = 0; i < images.size(); ++i)
          samples.push_back(
              sample_of(model, to_tensor(images[i]), to_tensor(maps[i]), classes[i], method,
                        method_params));
        const metrics::DatasetValues values =
            interruptible([&] { return metrics::evaluate_dataset(info, samples, p); });
        return py::dict(py::arg("per_image") = values.per_image,
                        py::arg("overall") = values.overall);
      },
      py::arg("name"), py::arg("model"), py::arg("images"), py::arg("maps"), py::arg("classes"),
      py::arg("method"), py::arg("method_params"), py::arg("params"));
  m.def(
      "sanity",
      [](const std::shared_ptr<Model>& model, const py::array& x,
         const std::vector<std::string>& names, const std::string& mode, int64_t layers,
         uint64_t seed, int64_t smooth, const std::map<std::string, std::string>& params,
         const py::object& progress) {
        metrics::RandomisationOptions options;
        options.mode = metrics::parse_randomisation(mode);
        options.layers = layers;
        options.seed = seed;
        options.smooth_samples = smooth;
        options.params = Params(params);
        const at::Tensor input = to_tensor(x);
        const auto result =
            interruptible([&] {
              return metrics::parameter_randomisation(*model, input, names, Target::top(),
                                                      options, count_steps);
            }, progress);
        py::list steps;
        for (const auto& step : result.steps) {
          py::dict maps, similarity;
          for (const auto& [method, map] : step.maps) maps[py::str(method)] = to_array(map);
          for (const auto& [method, s] : step.similarity) {
            similarity[py::str(method)] = py::dict(py::arg("spearman") = s.spearman,
                                                   py::arg("spearman_abs") = s.spearman_abs,
                                                   py::arg("ssim") = s.ssim, py::arg("hog") = s.hog);
          }
          steps.append(py::dict(py::arg("layer") = step.layer, py::arg("maps") = maps,
                                py::arg("similarity") = similarity));
        }
        py::dict rise;
        if (result.steps.size() > 1) {
          for (const auto& method : result.methods)
            rise[py::str(method)] = metrics::complexity_rise(result, method);
        }
        return py::dict(py::arg("cls") = result.cls, py::arg("methods") = result.methods,
                        py::arg("steps") = steps, py::arg("complexity_rise") = rise);
      });
  // The comparison report's page (HTML) for named pictures [H, W, 3] uint8.
  m.def("report", [](const std::shared_ptr<Model>& model, const std::vector<std::string>& names,
                     const std::vector<py::array>& pictures, const std::vector<std::string>& methods,
                     const std::string& target, const std::string& title, double alpha,
                     const std::map<std::string, std::string>& params,
                     const std::map<std::string, std::string>& curve_params,
                     const std::vector<std::string>& metrics,
                     const std::map<std::string, std::string>& metric_params,
                     const std::string& concept_layer, int64_t concepts,
                     const std::string& concept_method, const std::string& concept_index,
                     const py::object& progress) {
    ReportOptions options;
    options.concept_layer = concept_layer;
    options.concept_index = concept_index;
    options.concepts = concepts;
    options.concept_method = concept_method;
    options.methods = methods;
    options.target = target;
    options.title = title;
    options.alpha = alpha;
    options.params = Params(params);
    options.curve_params = Params(curve_params);
    options.metrics = metrics;
    options.metric_params = Params(metric_params);
    std::vector<ReportPicture> inputs;
    for (size_t i = 0; i < pictures.size() && i < names.size(); ++i)
      inputs.push_back({names[i], to_tensor(pictures[i])});
    return interruptible([&] {
      return comparison_report(*model, inputs, options,
                               [](size_t done, size_t total, const std::string&) {
                                 count_steps(done, total);
                               });
    }, progress);
  });
  m.attr("report_methods") = kReportMethods;
  m.def("fit_patterns", [](const std::shared_ptr<Model>& model, const py::array& x,
                          const std::string& estimator, const std::filesystem::path& folder) {
    PatternOptions options;
    options.estimator = parse_estimator(estimator);
    const at::Tensor batch = to_tensor(x);
    const Patterns patterns = interruptible([&] { return fit_patterns(*model, {batch}, options); });
    const std::filesystem::path target = folder.empty() ? default_patterns_path(*model) : folder;
    patterns.save(target);
    return target.string();
  });
  m.attr("sanity_methods") = metrics::kSanityMethods;
  const metrics::RandomisationOptions randomisation;
  m.attr("sanity_defaults") = py::dict(
      py::arg("mode") = metrics::to_string(randomisation.mode),
      py::arg("layers") = randomisation.layers, py::arg("seed") = randomisation.seed,
      py::arg("smooth") = randomisation.smooth_samples);
  m.attr("evaluate_methods") = metrics::kEvaluateMethods;
  m.attr("evaluate_metrics") = metrics::kEvaluateMetrics;
  // The engine's count of the last call's network inputs: (passed, planned).
  m.def("progress", [] {
    const ProgressCount count = progress();
    return py::make_tuple(count.done, count.planned);
  });
  m.def("set_threads", &set_threads, py::arg("threads") = 0);
  m.def("limits", [] {
    const Limits l = limits();
    return std::map<std::string, uint64_t>{{"image_pixels", l.image_pixels},
                                           {"model_bytes", l.model_bytes},
                                           {"file_bytes", l.file_bytes},
                                           {"tensor_elements", l.tensor_elements}};
  });
  m.def("set_limits", [](const std::map<std::string, uint64_t>& changes) {
    Limits l = limits();
    for (const auto& [name, value] : changes) {
      if (value == 0) throw ArgumentError("limit " + name + " must be positive");
      if (name == "image_pixels")
        l.image_pixels = value;
      else if (name == "model_bytes")
        l.model_bytes = value;
      else if (name == "file_bytes")
        l.file_bytes = value;
      else if (name == "tensor_elements")
        l.tensor_elements = value;
      else
        throw LookupError("no limit '" + name +
                          "' (image_pixels, model_bytes, file_bytes, tensor_elements)");
    }
    set_limits(l);
  });
  // The viewer (whitebox.serve): started here, answering on threads of its own that never call
  // into Python.
  py::class_<Server>(m, "Server")
      .def(py::init([](const std::shared_ptr<Model>& model, const std::string& images,
                       const std::string& eval, const std::string& host, int port,
                       uint64_t cache_bytes) {
             ServeOptions options;
             options.images = images;
             options.eval = eval;
             options.host = host;
             options.port = port;
             options.cache_bytes = cache_bytes;
             py::gil_scoped_release release;
             auto server = std::make_unique<Server>(*model, options);
             server->start();
             return server;
           }),
           py::arg("model"), py::arg("images"), py::arg("eval"), py::arg("host"), py::arg("port"),
           py::arg("cache_bytes"))
      .def_property_readonly("url", &Server::url)
      .def_property_readonly("port", &Server::port)
      .def("stop", [](Server& server) {
        py::gil_scoped_release release;
        server.stop();
        server.wait();
      });
  // For the benchmark: seconds of one explain() call made from C++ (the baseline of the Python
  // call's overhead).
  m.def("_time_explain", [](const std::shared_ptr<Model>& model, const py::array& x,
                            const std::vector<std::string>& names) {
    const at::Tensor input = to_tensor(x);
    py::gil_scoped_release release;
    const auto start = std::chrono::steady_clock::now();
    explain(*model, input, names, Target::top());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  });
  // For the tests: the address of the memory the engine reads an array from (no copy when it is
  // the array's own).
  m.def("_tensor_address", [](const py::array& x) {
    return reinterpret_cast<std::uintptr_t>(to_tensor(x).data_ptr());
  });
}
