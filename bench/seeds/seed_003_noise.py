# Seed 003: the two nets fitted to random data (a 2->1 linear layer; 10-5-1 with a sigmoid); PNGs instead of show().
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.optim as optim


class SimpleLinearModel(nn.Module):
    def __init__(self, input_dim, output_dim):
        super(SimpleLinearModel, self).__init__()
        self.linear = nn.Linear(input_dim, output_dim)

    def forward(self, x):
        return self.linear(x)


model = SimpleLinearModel(input_dim=2, output_dim=1)
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.01)
X = torch.randn(10, 2)
Y = torch.randn(10, 1)
for epoch in range(100):
    model.train()
    optimizer.zero_grad()
    output = model(X)
    loss = criterion(output, Y)
    loss.backward()
    optimizer.step()
    if (epoch + 1) % 10 == 0:
        print(f"Epoch [{epoch + 1}/100], Loss: {loss.item():.4f}")

n_in, n_h, n_out, batch_size = 10, 5, 1, 10
x = torch.randn(batch_size, n_in)
y = torch.tensor([[1.0], [0.0], [0.0], [1.0], [1.0], [1.0], [0.0], [0.0], [1.0], [1.0]])
model = nn.Sequential(nn.Linear(n_in, n_h), nn.ReLU(), nn.Linear(n_h, n_out), nn.Sigmoid())
criterion = torch.nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
losses = []
for epoch in range(50):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    losses.append(loss.item())
    print(f"Epoch [{epoch + 1}/50], Loss: {loss.item():.4f}")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
plt.figure(figsize=(8, 5))
plt.plot(range(1, 51), losses, label="Loss")
plt.xlabel("Epoch")
plt.ylabel("Loss")
plt.title("Training Loss Over Epochs")
plt.legend()
plt.grid()
plt.savefig("noise_loss.png")
y_pred_final = model(x).detach().numpy()
y_actual = y.numpy()
plt.figure(figsize=(8, 5))
plt.plot(range(1, batch_size + 1), y_actual, "o-", label="Actual", color="blue")
plt.plot(range(1, batch_size + 1), y_pred_final, "x--", label="Predicted", color="red")
plt.xlabel("Sample Index")
plt.ylabel("Value")
plt.title("Actual vs Predicted Values")
plt.legend()
plt.grid()
plt.savefig("noise_predicted.png")
