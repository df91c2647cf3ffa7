# Seed 002: make_circles with a 2-4-2 MLP, the tutorial's .py version; plt.show() saves a PNG instead.
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import make_circles


class neural_net(torch.nn.Module):
    def __init__(self):
        super(neural_net, self).__init__()
        self.layer1 = torch.nn.Linear(2, 4)
        self.layer_out = torch.nn.Linear(4, 2)

    def forward(self, input):
        out = self.layer1(input)
        out = torch.relu(out)
        out = self.layer_out(out)
        return out


def make_train_data():
    X, Y = make_circles(n_samples=1000, factor=0.2, noise=0.1)
    plt.scatter(X[:, 0], X[:, 1], c=Y)
    X = torch.from_numpy(X).type(torch.FloatTensor)
    Y = torch.from_numpy(Y).type(torch.LongTensor)
    return X, Y


def train(X, Y, net):
    optimizer = torch.optim.SGD(net.parameters(), lr=0.03)
    global loss_func
    loss_func = torch.nn.CrossEntropyLoss()
    t0 = time.time_ns()
    loss = 0
    for i in range(5000):
        Y_hat = net(X)
        loss = loss_func(Y_hat, Y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i % 1000 == 0:
            print("step=", i, "loss=", loss.data.item())
    t1 = time.time_ns()
    return loss.data.item(), t1 - t0


def show_result1():
    X, Y = make_circles(n_samples=1000, factor=0.2, noise=0.16)
    X = torch.from_numpy(X).type(torch.FloatTensor)
    Y = torch.from_numpy(Y).type(torch.LongTensor)
    Y_hat = net.forward(X)
    loss = loss_func(Y_hat, Y)
    print("loss on test:", loss.data.item())
    Y_color = []
    for y in Y_hat.detach().numpy():
        Y_color.append(0 if y[0] > y[1] else 1)
    plt.scatter(X[:, 0], X[:, 1], c=Y_color)


def show_result2():
    X = 2 * np.random.rand(1000, 2) - 1
    X = torch.from_numpy(X).type(torch.FloatTensor)
    Y = net.forward(X).detach().numpy()
    Y_color = []
    for y in Y:
        Y_color.append(0 if y[0] > y[1] else 1)
    plt.scatter(X.T[0], X.T[1], c=Y_color)


if __name__ == "__main__":
    plt.subplot(1, 3, 1)
    plt.title("train data")
    train_X, train_Y = make_train_data()
    net = neural_net()
    print(net)
    loss, t = train(train_X, train_Y, net)
    print("in the end loss=", loss)
    print("running time=%dms" % (t / 1000000))
    plt.subplot(1, 3, 2)
    plt.title("test data")
    show_result1()
    plt.subplot(1, 3, 3)
    plt.title("for all point")
    show_result2()
    plt.savefig("circles.png")
