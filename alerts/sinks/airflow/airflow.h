// The airflow sink: each retraining trigger starts one run of a DAG through
// Airflow's stable REST API (POST <url>/api/v1/dags/<dag_id>/dagRuns, a
// JSON body with `dag_run_id` and `conf`). The run id comes from the
// trigger's idempotency key, so a trigger sent again after a crash names
// the same run, and Airflow's 409 (that run exists) counts as delivered:
// the DAG runs once. `conf` is the trigger itself (evidence, window,
// baseline). Authentication: basic (`username` with `password_env` or
// `password_file`) or a bearer token (`bearer_token_env`/`_file`).
// Alerts are not retrains: this sink takes triggers only.
#pragma once

#include <string>
#include <string_view>

#include "alerts/sinks/sink.h"

namespace driftd::alerts {

inline constexpr std::string_view kAirflowKeys =
    "url, headers, ca_file, dag_id, username, password_env, password_file, bearer_token_env, "
    "bearer_token_file";

Result<std::shared_ptr<Sink>> make_airflow_sink(TableReader& r, const SinkSettings& settings,
                                                const std::string& state_dir);

// A DAG run id for a trigger key, within Airflow's default allowed
// pattern (^[A-Za-z0-9_.~:+-]+$) and length: "driftd__" + the key with
// every other byte as '_', cut to 180 bytes, "__" + 16 hex digits of the
// key's XXH3-64 (so that two keys never share an id).
std::string airflow_run_id(std::string_view trigger_key);
// The request body for a trigger's body.
Result<std::string> airflow_dag_run_json(std::string_view trigger_body);

}  // namespace driftd::alerts
