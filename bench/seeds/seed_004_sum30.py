# Seed 004: a 30-60-60-1 net learns the sum of 30 numbers: 3000 Adam steps of 32 fresh rows; the tutorial's full code.
import numpy as np
import torch


class Net(torch.nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = torch.nn.Linear(30, 60)
        self.fc2 = torch.nn.Linear(60, 60)
        self.fc3 = torch.nn.Linear(60, 1)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = torch.relu(self.fc2(x))
        x = torch.relu(self.fc3(x))
        return x


def train_network():
    net = Net()
    criterion = torch.nn.MSELoss()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.001)
    for epoch in range(3000):
        inputs = torch.FloatTensor(np.random.randint(0, 101, (32, 30)) / 100)
        outputs = net(inputs)
        targets = torch.sum(inputs, dim=1, keepdim=True)
        loss = criterion(outputs, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (epoch + 1) % 100 == 0:
            print(f"Epoch [{epoch + 1}/3000], Loss: {loss.item():.4f}")
    return net


print("开始训练网络...")
trained_net = train_network()
print("开始测试!")
trained_net.eval()
test_inputs_raw = np.random.randint(0, 101, (10, 30)) / 100
test_inputs = torch.FloatTensor(test_inputs_raw)
with torch.no_grad():
    test_outputs = trained_net(test_inputs)
test_targets = torch.sum(torch.FloatTensor(test_inputs_raw), dim=1, keepdim=True)
for i in range(len(test_outputs)):
    predicted = test_outputs[i].item()
    target = test_targets[i].item()
    error = abs(predicted - target)
    input_str = "[" + ", ".join(map(str, test_inputs_raw[i][:5])) + ", ...]"
    print(f"{i + 1:<4} {input_str:<20} {predicted:<12.2f} {target:<12.2f} {error:<10.2f}")
