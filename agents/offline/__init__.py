"""The built-in offline model: a deterministic `ChatCompletionClient` that answers from KB passages.

It owns everything the "offline" provider needs and nothing else: the client AutoGen drives
(`client`), how it reads a turn and decides its tool calls and handoffs (`policy`, `intents`), and how
it words the reply (`compose`, `ranking` for which sentences answer, `message_text` for the customer's
own words and questions, `plans` for plan-only features, `procedures`, `article_text` for the
help-article text, `notes` for what its tools did). It may import the shared parts of `agents`
(context, prompts, tokens, handoff_reply) and `domain`, and reads sentence meaning through the
process's shared embedder (`kb.embeddings.shared_embedder`, imported lazily) and the questions each article
sentence is known to answer (`kb.asked`); they never import it.

The real-model path (OpenAI, Azure, OpenAI-compatible servers) must not import this package except
through the model-client factory, `agents.model_client`, which builds the offline client for the
"offline" provider and recognises it for pricing. Tests may import it directly.
"""
