"""Triage: the classifier a team trains on its own labels, its artifact, the category table, sentiment."""

from __future__ import annotations

import csv
import json
import pickle
import random
import sqlite3
from pathlib import Path

import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from activities.triage import TriageActivities, TriageInput
from domain.models import Category, Sentiment, ticket_text
from kb.embeddings import LAYERS, Embedder
from supportctl.main import main as supportctl_main
from triage import classifier, sentiment
from triage.categories import LABEL_TO_CATEGORY, parse_category_map, to_category
from triage.classifier import TextClassifier, load_or_train
from triage.datasets import DEMO_EXAMPLES, read_examples
from triage.estimators import SentenceEmbeddings
from triage.metrics import error_report

BANKING77 = Path("/work/shared/datasets/banking77")
IT_TICKETS = Path("/work/shared/datasets/it_service_tickets/train.jsonl")

# A tiny intent dataset with labels that are not our categories.
INTENTS = {
    "card_arrival": [
        "my card still has not arrived",
        "when will my new card be delivered",
        "the card you posted never came",
        "how long does card delivery take",
        "still waiting for the card in the mail",
        "is my card on its way",
    ],
    "exchange_rate": [
        "what exchange rate do you use",
        "how much is one euro in dollars today",
        "the conversion rate for pounds",
        "which rate applies when I convert currency",
        "is the exchange rate fixed",
        "what currency rates do you offer",
    ],
    "passcode_forgotten": [
        "I forgot my passcode",
        "cannot remember the app passcode",
        "how to reset my passcode",
        "locked out, passcode lost",
        "reset the code I use to log in",
        "I need a new passcode",
    ],
}


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def intent_rows(field: str = "intent") -> list[dict[str, str]]:
    return [{"text": text, field: label} for label, texts in INTENTS.items() for text in texts]


# --- the classifier and its artifact --------------------------------------------------------


def test_classifier_predicts_the_teams_own_labels() -> None:
    texts = [r["text"] for r in intent_rows()]
    labels = [r["intent"] for r in intent_rows()]

    model = TextClassifier.train(texts, labels, embeddings="off", label_field="intent")

    assert sorted(model.labels) == sorted(INTENTS)
    assert model.predict("has my card been sent yet? it has not arrived").label == "card_arrival"
    assert model.predict("forgot passcode").label == "passcode_forgotten"
    assert 0.0 < model.predict("exchange rate for dollars").confidence <= 1.0


def test_artifact_round_trips_with_its_metadata(tmp_path: Path) -> None:
    rows = intent_rows()
    model = TextClassifier.train(
        [r["text"] for r in rows], [r["intent"] for r in rows], embeddings="off", label_field="intent", holdout=0.2
    )
    path = tmp_path / "models" / "triage.pkl"

    model.save(path)
    loaded = TextClassifier.load(path)

    info = loaded.info
    assert info.label_field == "intent" and info.text_field == "text"
    assert sorted(info.labels) == sorted(INTENTS) and info.n_train == len(rows)
    assert len(info.training_data_sha256) == 64 and info.training_data_sha256[:8] in info.version
    assert info.created_at and info.features == "tfidf-words+chars"
    assert set(info.metrics) >= {"accuracy", "macro_f1", "n"} and info.metrics["n"] == 3
    assert json.loads(path.with_suffix(".json").read_text())["version"] == info.version
    assert loaded.predict("my card did not arrive").label == model.predict("my card did not arrive").label


def test_large_corpora_train_an_nb_svm_that_round_trips_with_probabilities(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Thousands of examples per label switch to NB-SVM; here the threshold is lowered for a tiny corpus."""
    monkeypatch.setattr(classifier, "NB_MIN_EXAMPLES_PER_LABEL", 3)
    texts = [r["text"] for r in intent_rows()]
    labels = [r["intent"] for r in intent_rows()]

    model = TextClassifier.train(texts, labels, embeddings="off", label_field="intent")
    path = tmp_path / "triage.pkl"
    model.save(path)
    loaded = TextClassifier.load(path)

    assert loaded.info.features == "tfidf-words+chars+nbsvm+trees"
    assert loaded.predict("has my card been sent yet? it has not arrived").label == "card_arrival"
    assert loaded.predict("forgot passcode").label == "passcode_forgotten"
    assert 0.0 < loaded.predict("exchange rate for dollars").confidence <= 1.0
    probe = ["exchange rate for dollars", "forgot passcode", "card not here"]
    assert loaded.predict_many(probe) == model.predict_many(probe)  # the trees travel in the artifact
    # a model saved before the trees came in seeds held one tree model: it still predicts
    blend = loaded._pipeline
    assert isinstance(blend, classifier.TreeBlend) and len(blend.trees_) == classifier.TREE_SEEDS
    blend.trees_ = blend.trees_[0]
    assert [p.label for p in loaded.predict_many(probe)][:2] == ["exchange_rate", "passcode_forgotten"]


def test_large_corpora_learn_labels_that_hang_on_a_combination_of_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """A queue decided by two words together (a linear model cannot; the trees beside it can): tickets
    naming both "vpn" and "laptop", or neither, go to one team; naming one of them, to the other."""
    monkeypatch.setattr(classifier, "NB_MIN_EXAMPLES_PER_LABEL", 100)
    rng = random.Random(7)
    filler = "please help user request issue since morning thanks team access new old update".split()

    def ticket(vpn: bool, laptop: bool) -> str:
        words = rng.sample(filler, 6) + ["vpn"] * vpn + ["laptop"] * laptop
        rng.shuffle(words)
        return " ".join(words)

    cases = [(rng.random() < 0.5, rng.random() < 0.5) for _ in range(800)]
    texts = [ticket(v, laptop) for v, laptop in cases]
    labels = ["same" if v == laptop else "one" for v, laptop in cases]
    said: list[str] = []
    model = TextClassifier.train(texts[:600], labels[:600], embeddings="off", progress=said.append)
    assert model.info.features.endswith("+trees")
    # minutes on a real history: each stage says so, the NB-SVM and the trees included
    assert any("NB-SVM" in line for line in said) and any("rounds of trees" in line for line in said), said
    predicted = [p.label for p in model.predict_many(texts[600:])]
    accuracy = sum(p == t for p, t in zip(predicted, labels[600:], strict=True)) / 200
    assert accuracy >= 0.9, accuracy


def test_nb_svm_scores_every_label_and_handles_two_labels() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [r["text"] for r in intent_rows()]
    labels = [r["intent"] for r in intent_rows()]
    x = TfidfVectorizer().fit_transform(texts)

    three = classifier.NBWeightedSVM().fit(x, labels)
    assert three.decision_function(x).shape == (len(texts), 3)
    assert list(three.predict(x)) == labels

    two = [i for i, label in enumerate(labels) if label != "exchange_rate"]
    binary = classifier.NBWeightedSVM().fit(x[two], [labels[i] for i in two])
    assert binary.decision_function(x[two]).shape == (len(two),)
    assert list(binary.predict(x[two])) == [labels[i] for i in two]


def test_same_data_same_hash_other_data_other_hash() -> None:
    texts = [r["text"] for r in intent_rows()]
    labels = [r["intent"] for r in intent_rows()]
    a = TextClassifier.train(texts, labels, embeddings="off")
    b = TextClassifier.train(texts, labels, embeddings="off")
    c = TextClassifier.train(texts[:-1], labels[:-1], embeddings="off")

    assert a.info.training_data_sha256 == b.info.training_data_sha256 != c.info.training_data_sha256


def test_an_artifact_of_an_older_format_is_replaced_by_the_demo_model(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "triage.pkl"
    path.write_bytes(pickle.dumps({"version": 1, "pipeline": None}))

    with pytest.raises(ValueError, match="format"):
        TextClassifier.load(path)
    with caplog.at_level("WARNING", logger="triage"):
        model = load_or_train(path)

    assert "triaging with the demo model until you retrain" in caplog.text, "the operator is told, loudly"

    assert set(model.labels) == {c.value for c in Category}
    assert TextClassifier.load(path).info.version == model.info.version
    assert (tmp_path / "triage.pkl.old").exists(), "the old file is kept, not lost"


def test_sentence_embeddings_understand_paraphrases_tfidf_cannot() -> None:
    """With only two examples per label, the embedding features carry the meaning across wordings."""
    texts = [
        "my card never arrived",
        "the card has not been delivered",
        "I forgot my passcode",
        "cannot remember my passcode",
    ]
    labels = ["card_arrival", "card_arrival", "passcode_forgotten", "passcode_forgotten"]

    model = TextClassifier.train(texts, labels, embeddings="on")

    assert model.info.features.endswith("all-MiniLM-L6-v2-onnx-int8+layer4")
    assert model.predict("the plastic you mailed me is still not here").label == "card_arrival"
    assert model.predict("what was my login PIN again, I can't recall it").label == "passcode_forgotten"
    batch = model.predict_many(["card never came", "card never came", "forgot passcode"])
    assert [p.label for p in batch] == ["card_arrival", "card_arrival", "passcode_forgotten"]


def test_a_model_saved_before_the_inner_layer_existed_still_loads_and_predicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A team's artifact from the previous release pickled its embedding step without the inner
    layer, and its SVM expects the last layer's 384 columns only: it must keep working unchanged."""
    rows = intent_rows()
    texts, labels = [r["text"] for r in rows], [r["intent"] for r in rows]
    last_layer_only = FeatureUnion([("words", TfidfVectorizer()), ("minilm", SentenceEmbeddings(inner_layer=None))])
    monkeypatch.setattr(classifier, "_features", lambda *_args: last_layer_only)
    old = TextClassifier.train(texts, labels, embeddings="on")
    getstate = SentenceEmbeddings.__getstate__

    def as_released(self: SentenceEmbeddings) -> dict[str, object]:
        state = getstate(self)
        del state["inner_layer"], state["inner_weight"]  # what the previous release pickled
        return state

    monkeypatch.setattr(SentenceEmbeddings, "__getstate__", as_released)
    path = tmp_path / "triage.pkl"
    old.save(path)
    monkeypatch.undo()

    loaded = TextClassifier.load(path)
    questions = ["the plastic you mailed me is still not here", "what was my login PIN again"]
    assert [p.label for p in loaded.predict_many(questions)] == [p.label for p in old.predict_many(questions)]
    assert [p.confidence for p in loaded.predict_many(questions)] == [p.confidence for p in old.predict_many(questions)]


def test_a_model_file_without_the_inner_layer_still_trains_on_the_sentence_embedding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EMBEDDING_MODEL_PATH may point at another export of the model, its inner tensors named otherwise."""
    embedder = Embedder()
    embedder._load()
    embedder._outputs = {LAYERS: embedder._outputs[LAYERS]}
    monkeypatch.setattr(classifier, "shared_embedder", lambda: embedder)
    rows = intent_rows()

    model = TextClassifier.train([r["text"] for r in rows], [r["intent"] for r in rows], embeddings="on")

    assert model.info.features == "tfidf-words+chars+all-MiniLM-L6-v2-onnx-int8"
    assert model.predict("the plastic you mailed me is still not here").label == "card_arrival"


def test_training_and_evaluation_cache_vectors_on_disk_but_triaging_a_ticket_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Training sets and evaluation sets come back; a ticket being triaged is unique (worker: memory only)."""
    cache = tmp_path / "embeddings.sqlite"
    embedder = Embedder(disk_cache=cache)
    monkeypatch.setattr(classifier, "shared_embedder", lambda: embedder)

    def cached() -> int:
        with sqlite3.connect(cache) as db:
            return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])

    per_text = 2  # the sentence embedding and the inner layer's vector
    rows = intent_rows()
    model = TextClassifier.train([r["text"] for r in rows], [r["intent"] for r in rows], embeddings="on")
    assert cached() == per_text * len(rows)

    model.predict("my card still is not here, where is it?")
    model.predict_many(["forgot the passcode again", "which rate for yen"])
    assert cached() == per_text * len(rows), "tickets being triaged are not written to disk"

    model.predict_many(["my passcode is gone", "the rate for yen"], persist=True)  # as `eval triage` does
    assert cached() == per_text * (len(rows) + 2)


def test_long_embedding_runs_report_progress_every_few_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 3.0, 11.0, 15.0, 30.0])  # created, then one reading per batch
    monkeypatch.setattr("triage.classifier.time.monotonic", lambda: next(clock))
    said: list[str] = []
    report = classifier._every_few_seconds(said.append, "embedded")

    for done in (1000, 2000, 3000, 4000):
        report(done, 4000)

    assert said == ["  embedded 2000/4000 (11s)", "  embedded 4000/4000 (30s)"]


def test_read_examples_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text('{"text": "a", "topic": "x"}\n{"text": "b"}\n')

    with pytest.raises(ValueError, match=r"tickets\.jsonl:2: .*'topic'"):
        read_examples(path, "topic")


def test_a_help_desk_csv_export_trains_on_subject_and_body_as_the_worker_sees_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    export = tmp_path / "export.csv"
    with export.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "Subject", "Description", "Group"])
        for n, row in enumerate(intent_rows()):
            subject, _, body = row["text"].partition(" ")
            writer.writerow([n, subject, f'{body}, "quoted", on\ntwo lines', row["intent"]])
        writer.writerow([99, "Spam", "buy cheap watches", ""])  # nobody categorised it

    with caplog.at_level("WARNING", logger="triage"):
        texts, labels = read_examples(export, "Group", "Subject+Description")
    out = tmp_path / "model.pkl"
    train = ["triage", "train", "--data", str(export), "--label", "Group", "--text-field", "Subject+Description"]
    code = supportctl_main([*train, "--out", str(out), "--embeddings", "off"])

    first = intent_rows()[0]["text"].partition(" ")
    assert texts[0] == ticket_text(first[0], f'{first[2]}, "quoted", on\ntwo lines')
    assert len(texts) == len(intent_rows()) and "" not in labels
    assert "skipped 1 rows with an empty 'Group'" in caplog.text
    assert code == 0 and sorted(load_or_train(out).labels) == sorted(INTENTS)
    with pytest.raises(
        ValueError,
        match=r"export\.csv:2: expected 'Subject' and 'Body' and 'Group' \(missing 'Body'; it has 'id', ",
    ):
        read_examples(export, "Group", "Subject+Body")


# --- the category table ---------------------------------------------------------------------


def test_every_banking77_intent_has_a_category() -> None:
    categories = BANKING77 / "categories.json"
    if not categories.exists():
        pytest.skip("banking77 dataset not present")
    intents = json.loads(categories.read_text())

    missing = [i for i in intents if i.lower() not in LABEL_TO_CATEGORY]

    assert missing == []


@pytest.mark.parametrize(
    ("label", "category"),
    [
        ("billing", Category.BILLING),
        ("Technical", Category.TECHNICAL),
        ("request_refund", Category.BILLING),
        ("Refund_not_showing_up", Category.BILLING),
        ("card_not_working", Category.TECHNICAL),
        ("passcode_forgotten", Category.ACCOUNT),
        ("getting_virtual_card", Category.PRODUCT),
        ("Hardware", Category.TECHNICAL),
        ("Administrative rights", Category.ACCOUNT),
        ("Purchase", Category.BILLING),
        ("something_we_never_saw", Category.GENERAL),
    ],
)
def test_labels_map_onto_the_products_categories(label: str, category: Category) -> None:
    assert to_category(label) == category


async def test_the_triage_activity_routes_an_intent_model_through_the_table() -> None:
    rows = intent_rows()
    model = TextClassifier.train([r["text"] for r in rows], [r["intent"] for r in rows], embeddings="off")

    result = await TriageActivities(model).triage_message(TriageInput("I forgot my passcode and I'm locked out"))

    assert result.category == Category.ACCOUNT  # passcode_forgotten → account
    assert 0 < result.category_confidence <= 1


async def test_a_message_without_words_goes_to_the_general_agent_not_the_models_favourite_label() -> None:
    rows = intent_rows()
    model = TextClassifier.train([r["text"] for r in rows], [r["intent"] for r in rows], embeddings="off")
    favourite = model.predict("? \n ?").label  # what the model says about nothing: its bias

    result = await TriageActivities(model).triage_message(TriageInput("? \n ?"))

    assert model.category_of(favourite) != Category.GENERAL, "the test needs a model whose bias is a specialist"
    assert result.category == Category.GENERAL and result.label is None and result.category_confidence == 0


async def test_a_teams_own_category_map_routes_labels_the_table_does_not_know(tmp_path: Path) -> None:
    """A team's queues are not in our table: without its map they all route to the general agent."""
    rows = [{"text": r["text"], "queue": f"Q-{r['intent']}"} for r in intent_rows()]
    texts, labels = [r["text"] for r in rows], [r["queue"] for r in rows]
    model = TextClassifier.train(texts, labels, embeddings="off")
    question = TriageInput("the card you posted me has not arrived yet")
    assert (await TriageActivities(model).triage_message(question)).category == Category.GENERAL

    unknown = model.set_categories({"Q-card_arrival": Category.BILLING, "Q-card_arival": Category.ACCOUNT})
    model.save(tmp_path / "triage.pkl")
    loaded = TextClassifier.load(tmp_path / "triage.pkl")
    result = await TriageActivities(loaded).triage_message(question)

    assert unknown == ["Q-card_arival"], "a label the model never saw (a typo) is reported, not kept"
    assert result.label == "Q-card_arrival" and result.category == Category.BILLING
    assert loaded.info.categories == {"Q-card_arrival": "billing"}
    assert loaded.unmapped_labels() == ["Q-exchange_rate", "Q-passcode_forgotten"]
    # the team's word beats the table's
    assert to_category("card_arrival") == Category.ACCOUNT
    assert to_category("card_arrival", {"card_arrival": Category.BILLING}) == Category.BILLING


def test_an_artifact_saved_before_category_maps_loads_with_none(tmp_path: Path) -> None:
    rows = intent_rows()
    model = TextClassifier.train([r["text"] for r in rows], [r["intent"] for r in rows], embeddings="off")
    path = tmp_path / "triage.pkl"
    model.save(path)
    data = pickle.loads(path.read_bytes())
    del data["info"]["categories"]  # what the previous release wrote
    path.write_bytes(pickle.dumps(data))

    loaded = TextClassifier.load(path)

    assert loaded.info.categories == {} and loaded.category_of("passcode_forgotten") == Category.ACCOUNT


@pytest.mark.parametrize(
    ("raw", "complaint"),
    [
        (["Access", "account"], "expected a JSON object"),
        ({}, "expected a JSON object"),
        ({"Access": "security"}, "'Access' maps to 'security', which is not a category"),
    ],
)
def test_a_bad_category_map_is_refused_with_the_reason(raw: object, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        parse_category_map(raw, "map.json")


# --- the commands -----------------------------------------------------------------------------


def test_eval_triage_trains_on_train_only_and_prints_json_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = intent_rows("topic_group")
    train = write_jsonl(tmp_path / "train.jsonl", [r for i, r in enumerate(rows) if i % 3])
    test = write_jsonl(tmp_path / "test.jsonl", [r for i, r in enumerate(rows) if not i % 3])

    code = supportctl_main(
        ["eval", "triage", "--train", str(train), "--test", str(test), "--label", "topic_group", "--embeddings", "off"]
    )

    out = capsys.readouterr()
    result = json.loads(out.out.strip().splitlines()[-1])
    assert code == 0
    assert result["n"] == 6 and result["n_train"] == 12
    assert 0.5 <= result["accuracy"] <= 1.0 and 0.0 <= result["macro_f1"] <= 1.0
    assert result["accuracy"] <= result["category_accuracy"] <= 1.0, "BANKING77 intents route through the table"
    assert "train:" in out.err, "progress goes to stderr"
    assert "weakest labels (F1 on the held-out examples): " in out.err


def test_category_accuracy_counts_a_mix_up_within_one_category_as_routed_right(tmp_path: Path) -> None:
    from triage.evaluation import evaluate_triage

    # card_arrival and card_delivery_estimate are both "account": mixing them up routes the same.
    rows = [{"text": t, "intent": "card_arrival"} for t in INTENTS["card_arrival"]]
    rows += [{"text": t, "intent": "card_delivery_estimate"} for t in INTENTS["card_arrival"]]
    rows += [{"text": t, "intent": "exchange_rate"} for t in INTENTS["exchange_rate"]]
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    result = evaluate_triage(data, data, "intent", embeddings="off")
    assert result["accuracy"] < 0.9 and result["category_accuracy"] == 1.0

    unmapped = write_jsonl(tmp_path / "queues.jsonl", [{**r, "intent": f"Q-{r['intent']}"} for r in rows])
    assert "category_accuracy" not in evaluate_triage(unmapped, unmapped, "intent", embeddings="off")


def test_the_error_report_names_the_weakest_labels_and_the_commonest_mix_ups() -> None:
    truth = ["card_arrival"] * 4 + ["card_delivery_estimate"] * 4 + ["passcode_forgotten"] * 2
    predicted = ["card_arrival"] * 2 + ["card_delivery_estimate"] * 2 + ["card_delivery_estimate"] * 3
    predicted += ["card_arrival"] + ["passcode_forgotten"] * 2

    weakest, mixups = error_report(truth, predicted, top=2)

    assert weakest == (
        "weakest labels (F1 on the held-out examples): card_arrival 0.57 (n 4), card_delivery_estimate 0.67 (n 4)"
    )
    assert mixups == (
        "most frequent mix-ups (true → predicted): card_arrival → card_delivery_estimate ×2, "
        "card_delivery_estimate → card_arrival ×1"
    )


def test_triage_train_writes_the_artifact_the_worker_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write_jsonl(tmp_path / "history.jsonl", intent_rows("queue"))
    out = tmp_path / "model.pkl"

    code = supportctl_main(
        ["triage", "train", "--data", str(data), "--label", "queue", "--out", str(out), "--embeddings", "off"]
    )

    assert code == 0 and out.exists()
    model = load_or_train(out)  # what the worker does at start-up
    assert model.info.label_field == "queue" and sorted(model.labels) == sorted(INTENTS)
    printed = capsys.readouterr()
    assert model.info.version in printed.out
    assert "weakest labels (F1 on the held-out examples): " in printed.err, "the held-out slice's errors are reported"


def test_triage_train_and_map_take_the_teams_category_map(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"text": r["text"], "queue": r["intent"].replace("_", " ").title()} for r in intent_rows()]
    data = write_jsonl(tmp_path / "history.jsonl", rows)
    out = tmp_path / "model.pkl"
    train = ["triage", "train", "--data", str(data), "--label", "queue", "--out", str(out), "--embeddings", "off"]

    assert supportctl_main(train) == 0
    err = capsys.readouterr().err
    assert "3 of 3 labels map to no category and route to the general agent: 'Card Arrival', 'Exchange Rate'" in err

    (tmp_path / "bad.json").write_text('{"Card Arrival": "shipping"}')
    assert supportctl_main([*train, "--categories", str(tmp_path / "bad.json")]) == 1
    assert "'Card Arrival' maps to 'shipping', which is not a category" in capsys.readouterr().err

    own = {"Card Arrival": "account", "Exchange Rate": "billing", "Passcode Forgotten": "account"}
    (tmp_path / "map.json").write_text(json.dumps(own))
    assert supportctl_main(["triage", "map", str(tmp_path / "map.json"), "--model", str(out)]) == 0
    err = capsys.readouterr().err
    assert "map to no category" not in err and "labels per category: account 2, billing 1" in err
    model = load_or_train(out)
    assert model.category_of("Exchange Rate") == Category.BILLING
    assert json.loads(out.with_suffix(".json").read_text())["categories"]["Card Arrival"] == "account"

    # A typo would route that label to the general agent: refused, nothing written, the right one named.
    (tmp_path / "typo.json").write_text('{"card arrival": "billing", "Exchange Rates": "billing"}')
    assert supportctl_main(["triage", "map", str(tmp_path / "typo.json"), "--model", str(out)]) == 1
    err = capsys.readouterr().err
    assert "'card arrival' (did you mean 'Card Arrival'?)" in err and "(did you mean 'Exchange Rate'?)" in err
    assert load_or_train(out).category_of("Card Arrival") == Category.ACCOUNT, "the earlier map is untouched"
    assert supportctl_main([*train, "--categories", str(tmp_path / "typo.json")]) == 1, "refused before training"
    assert supportctl_main(["triage", "map", str(tmp_path / "map.json"), "--model", str(data)]) == 1
    assert "not a triage model" in capsys.readouterr().err


def test_tricky_exports_get_a_model_or_a_one_line_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [["Subject", "Group"], *([row["text"], row["intent"]] for row in intent_rows())]
    excel = tmp_path / "excel.csv"  # Excel's "CSV UTF-8" starts with a byte-order mark
    excel.write_text("\ufeff" + "".join(",".join(r) + "\r\n" for r in rows), encoding="utf-8")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("Subject,Group\nfacture impayée,billing\n".encode("latin-1"))
    tiny = write_jsonl(tmp_path / "tiny.jsonl", [{"text": "hello there", "q": "a"}, {"text": "hi", "q": "b"}])

    assert read_examples(excel, "Group", "Subject")[1][0] == "card_arrival"
    with pytest.raises(ValueError, match=r"latin\.csv: not valid UTF-8 .*save the file as UTF-8"):
        read_examples(latin, "Group", "Subject")
    code = supportctl_main(["triage", "train", "--data", str(tiny), "--label", "q", "--out", str(tmp_path / "m.pkl")])

    assert code == 0, "two short texts that share no character trigram still train"
    assert "not measured: 2 examples are too few to hold some out" in capsys.readouterr().out


def test_eval_split_makes_stratified_reproducible_dev_sets_from_a_csv_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "export.csv"
    with export.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "queue"])
        writer.writerows([row["text"], row["intent"]] for row in intent_rows())
    split = ["eval", "split", str(export), "--label", "queue", "--test-fraction", "0.5"]

    assert supportctl_main([*split, "--out", str(tmp_path / "a")]) == 0
    assert supportctl_main([*split, "--out", str(tmp_path / "b")]) == 0
    train, test = (read_examples(tmp_path / "a" / f"{name}.jsonl", "queue") for name in ("train", "test"))

    assert sorted(train[1]) == sorted(test[1]) == sorted(list(INTENTS) * 3), "half of every label on each side"
    assert sorted(train[0] + test[0]) == sorted(r["text"] for r in intent_rows())
    assert (tmp_path / "a" / "test.jsonl").read_text() == (tmp_path / "b" / "test.jsonl").read_text()
    with export.open("a", newline="", encoding="utf-8") as f:
        csv.writer(f).writerow(["a ticket nobody filed", ""])
    capsys.readouterr()
    assert supportctl_main([*split, "--out", str(tmp_path / "c")]) == 2
    assert "export.csv:20: no 'queue'" in capsys.readouterr().err


def test_triage_train_with_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert supportctl_main(["triage", "train", "--data", str(tmp_path / "none.jsonl"), "--label", "x"]) == 2
    assert "no such file" in capsys.readouterr().err
    data = write_jsonl(tmp_path / "history.jsonl", intent_rows())
    assert supportctl_main(["triage", "train", "--data", str(data), "--label", "intent", "--out", str(tmp_path)]) == 2
    assert "is a folder; give the model file's path" in capsys.readouterr().err, "said before training, not after"


def test_demo_examples_train_a_model_of_our_five_categories() -> None:
    texts, labels = read_examples(DEMO_EXAMPLES)

    assert {to_category(label) for label in labels} == set(Category)
    assert len(texts) >= 100


@pytest.mark.skipif(not IT_TICKETS.exists(), reason="IT tickets dataset not present")
def test_it_tickets_smoke(tmp_path: Path) -> None:
    """A 3,000-ticket slice of real helpdesk data: far above chance (8 groups), in seconds."""
    lines = IT_TICKETS.read_text(encoding="utf-8").splitlines()[:3000]
    rows = [json.loads(line) for line in lines]
    texts, labels = [r["text"] for r in rows], [r["topic_group"] for r in rows]

    model = TextClassifier.train(texts[:2400], labels[:2400], embeddings="off")
    predicted = [p.label for p in model.predict_many(texts[2400:])]

    accuracy = sum(p == t for p, t in zip(predicted, labels[2400:], strict=True)) / len(predicted)
    assert accuracy > 0.7


# --- sentiment ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The fix didn't help",
        "Your support isn't helpful",
        "Not the best experience",
        "I can't say I'm pleased",
        "hardly useful",
        "nothing works",
        "I wouldn't recommend you",
    ],
)
def test_negated_praise_is_not_positive(text: str) -> None:
    assert sentiment.polarity(text) < 0


@pytest.mark.parametrize(
    "text",
    [
        "I don't know why, but it works great now",
        "No worries, it works great now!",
        "Thanks, that worked perfectly",
    ],
)
def test_praise_after_an_unrelated_negation_stays_positive(text: str) -> None:
    assert sentiment.analyze(text)[0] == Sentiment.POSITIVE


def test_negation_textblob_already_handles_is_not_counted_twice() -> None:
    assert sentiment.analyze("I am not happy with this")[0] == Sentiment.NEGATIVE


def test_shouting_and_exclamation_runs_push_towards_negative() -> None:
    calm = sentiment.polarity("the export is broken")
    assert sentiment.polarity("THE EXPORT IS BROKEN AGAIN!!!") < calm


def test_training_data_with_a_single_label_is_refused_before_any_embedding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A constant column (the wrong --label, an export of one queue) is said at once, naming the file
    and the field, not after minutes of embedding as a bare "training needs at least two labels"."""
    data = write_jsonl(tmp_path / "one.jsonl", [{"text": t, "queue": "Cards"} for t in INTENTS["card_arrival"]])
    test = write_jsonl(tmp_path / "test.jsonl", intent_rows("queue"))

    def no_embedding(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("embedded before checking the labels")

    monkeypatch.setattr(SentenceEmbeddings, "prefetch", no_embedding)
    train = ["triage", "train", "--data", str(data), "--label", "queue", "--embeddings", "on"]
    assert supportctl_main([*train, "--out", str(tmp_path / "m.pkl")]) == 1
    err = capsys.readouterr().err
    assert f"error: {data}: every example has the 'queue' 'Cards'; training needs at least two labels" in err
    evaluate = ["eval", "triage", "--train", str(data), "--test", str(test), "--label", "queue", "--embeddings", "on"]
    assert supportctl_main(evaluate) == 1
    assert f"error: {data}: every example has the 'queue' 'Cards'" in capsys.readouterr().err
    assert not (tmp_path / "m.pkl").exists()


def test_eval_split_writes_nothing_it_could_not_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An empty file, or one where no label has two rows, has no test set: refused, no files written."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    singles = write_jsonl(tmp_path / "singles.jsonl", [{"text": "a", "q": "x"}, {"text": "b", "q": "y"}])

    assert supportctl_main(["eval", "split", str(empty), "--label", "q", "--out", str(tmp_path / "a")]) == 2
    assert f"error: {empty}: no rows to split" in capsys.readouterr().err
    assert supportctl_main(["eval", "split", str(singles), "--label", "q", "--out", str(tmp_path / "b")]) == 2
    assert "no 'q' has two rows, so none can be held out" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_folder_or_a_non_utf8_file_where_a_file_belongs_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_jsonl(tmp_path / "history.jsonl", intent_rows())
    model = tmp_path / "model.pkl"
    train = ["triage", "train", "--data", str(data), "--label", "intent", "--embeddings", "off"]
    assert supportctl_main([*train, "--out", str(model)]) == 0
    capsys.readouterr()
    folder = tmp_path / "exports"
    folder.mkdir()

    assert supportctl_main(["triage", "train", "--data", str(folder), "--label", "intent", "--out", str(model)]) == 2
    assert f"error: {folder} is a folder; give a JSONL or CSV file" in capsys.readouterr().err
    assert supportctl_main(["eval", "split", str(folder), "--label", "intent", "--out", str(tmp_path / "s")]) == 2
    assert f"error: {folder} is a folder" in capsys.readouterr().err
    assert supportctl_main(["eval", "triage", "--train", str(data), "--test", str(folder), "--label", "intent"]) == 2
    assert f"error: {folder} is a folder" in capsys.readouterr().err
    latin = tmp_path / "map.json"
    latin.write_bytes('{"card_arrival": "général"}'.encode("latin-1"))
    assert supportctl_main(["triage", "map", str(latin), "--model", str(model)]) == 1
    assert f"error: {latin}: not valid UTF-8" in capsys.readouterr().err


def test_triage_train_refuses_an_out_path_its_metadata_would_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The readable metadata goes beside the model as .json: `--out model.json` would replace the model
    just written with it (and report success), so it is refused before training."""
    data = write_jsonl(tmp_path / "history.jsonl", intent_rows())
    out = tmp_path / "model.json"

    train = ["triage", "train", "--data", str(data), "--label", "intent", "--embeddings", "off"]
    assert supportctl_main([*train, "--out", str(out)]) == 2
    assert "error: --out " in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "text",
    [
        "I'm locked out of my account, it says too many attempts. I need to get in right now",
        "Account locked again, please sort it out right now",
    ],
)
def test_a_lockout_report_is_not_positive(text: str) -> None:
    # textblob reads "right now" as praise; a customer locked out of their account is not a happy one.
    assert sentiment.analyze(text)[0] != Sentiment.POSITIVE
