"""Two DAGs, each visible only to its team's role via DAG-level access_control (Airflow 2.x).

Loaded by the corpus's Airflow webserver (AIRFLOW__CORE__DAGS_FOLDER), not by tenantprobe.
"""

# mypy: ignore-errors
# (Airflow is installed only in the corpus's own virtualenvs.)

import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator

for team in ("a", "b"):
    with DAG(
        dag_id=f"team_{team}_pipeline",
        start_date=pendulum.datetime(2023, 1, 1, tz="UTC"),
        schedule=None,
        catchup=False,
        tags=[f"team_{team}"],
        access_control={f"team_{team}": {"can_read", "can_edit"}},
    ) as dag:
        EmptyOperator(task_id="extract") >> EmptyOperator(task_id="load")
    globals()[dag.dag_id] = dag
