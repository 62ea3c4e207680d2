#!/usr/bin/env bash
# Every study of the original course reports and the long-memory benchmarks, one rnnlab command each
# (conf/experiment/*.yaml; copy_lengths_gpu, smnist_lstm and pmnist_lstm are for a GPU and not run here).
#   scripts/reproduce.sh            # full size: outputs/studies/<study>/summary.md (+ plots), one dir per job
#   scripts/reproduce.sh --quick    # toy size, to check that everything runs (~2 min on a 2-core CPU)
# MNIST studies need the data: $RNNLAB_DATA (or data/) holding MNIST/raw/; they are skipped without it.
source "$(dirname "$0")/studies.sh" "$@"

study recall_hidden_size        # hidden 2 / 5 / 10 x RNN, LSTM, GRU
study recall_position           # position 1 and 2
study addition_loss_hidden      # hidden 3 / 5 / 10 x MSE vs cross-entropy, tested to 1000 bits
study addition_fixed_lengths    # fixed lengths 3 / 5 / 10 vs 1-20, tested on 1-20
study temporal_order_models     # 6a, 6b x RNN, LSTM x attention
study char_hidden_size          # "Acknowledgement", hidden 5 / 20 / 50
study char_optimizers           # Adam, Adagrad, RMSprop, SGD x 3 learning rates
study char_fast                 # hidden 5, "edgement"
study scratch_sentence          # NumPy RNN, "You are a good guy", with and without biases
study adding_lengths            # the adding problem, T 200 / 600 x LSTM, GRU x plain, chrono (~25 min on 2 cores)
study copy_lengths              # the copying problem, T 100 / 200 x LSTM, GRU x plain, chrono

data=${RNNLAB_DATA:-data}
if [[ -f "$data/MNIST/raw/train-images-idx3-ubyte" ]]; then
  for name in mnist_lstm mnist_gru mnist_bilstm mnist_rnn mnist_birnn mnist_l2; do
    study "$name" "task.root=$data" task.download=false
  done
else
  echo "== MNIST studies skipped: no $data/MNIST/raw/ (set RNNLAB_DATA)"
fi
echo "tables: $OUT/<study>/summary.md; runs: $OUT/<study>/<job>/report.md"
