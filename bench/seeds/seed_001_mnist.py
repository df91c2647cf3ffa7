# Seed 001: the MNIST MLP, as the tutorial writes it (torchvision + ToTensor + DataLoader); PNG instead of show().
import matplotlib.pyplot as plt
import torch
import torchvision
from torch import nn, optim
from torch.utils.data import DataLoader
from torchvision import transforms

mnist_train = torchvision.datasets.MNIST(root="../data", train=True, transform=transforms.ToTensor(), download=True)
mnist_test = torchvision.datasets.MNIST(root="../data", train=False, transform=transforms.ToTensor(), download=True)
train_iter = DataLoader(mnist_train, batch_size=256, shuffle=True)
test_iter = DataLoader(mnist_test, batch_size=256)
var = next(iter(train_iter))
plt.title(str(var[1][0]))
plt.imshow(var[0][0].squeeze().numpy(), cmap="gray")
plt.savefig("mnist_sample.png")
net = nn.Sequential(
    nn.Flatten(), nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
)


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, std=0.01)


net.apply(init_weights)
loss_fn = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.2)
epoch_num = 20
for epoch in range(epoch_num):
    net.train()
    total_loss = 0
    for X, y in train_iter:
        optimizer.zero_grad()
        y_hat = net(X)
        loss = loss_fn(y_hat, y)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * X.shape[0]
    avg_loss = total_loss / len(mnist_train)
    print(f"Epoch {epoch + 1}/{epoch_num}, Loss: {avg_loss:.4f}")


def evaluate_model(net, test_iter):
    net.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for X, y in test_iter:
            y_hat = net(X)
            _, predicted = torch.max(y_hat, 1)
            correct += (predicted == y).sum().item()
            total += y.size(0)
    accuracy = correct / total
    print(f"Accuracy on test set: {accuracy * 100:.2f}%")


evaluate_model(net, test_iter)
