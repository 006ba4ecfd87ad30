// Cluster bindings: Slurm node states onto Batch AI's five counts, and the
// cluster's share of its partition.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "frontend/commands/cluster_common.h"

namespace batchai::frontend {
namespace {

// `state` as sinfo spells it ("IDLE").
slurm::NodeInfo node(std::string name, std::string_view state, std::string partition = "batch") {
  slurm::NodeInfo n;
  n.name = std::move(name);
  n.state = slurm::parse_node_state(state).value();
  n.partitions = {std::move(partition)};
  return n;
}

TEST(ClusterNodes, SlurmStatesMapOntoBatchAisCounts) {
  auto drained = node("a", "IDLE");
  drained.drain = true;
  auto draining = node("b", "ALLOCATED");
  draining.drain = true;
  auto completing = node("c", "IDLE");
  completing.completing = true;
  auto silent = node("d", "IDLE");
  silent.not_responding = true;
  auto booting = node("e", "IDLE");
  booting.powering_up = true;
  auto in_prolog = node("f", "MIXED");
  in_prolog.preparing_job = true;
  EXPECT_EQ(batchai_node_state(node("x", "IDLE")), NodeState::idle);
  EXPECT_EQ(batchai_node_state(node("x", "ALLOCATED")), NodeState::running);
  EXPECT_EQ(batchai_node_state(node("x", "MIXED")), NodeState::running);
  EXPECT_EQ(batchai_node_state(booting), NodeState::preparing);
  EXPECT_EQ(batchai_node_state(in_prolog), NodeState::preparing);
  EXPECT_EQ(batchai_node_state(draining), NodeState::leaving);
  EXPECT_EQ(batchai_node_state(completing), NodeState::leaving);
  EXPECT_EQ(batchai_node_state(drained), NodeState::unusable);
  EXPECT_EQ(batchai_node_state(node("x", "DOWN")), NodeState::unusable);
  EXPECT_EQ(batchai_node_state(silent), NodeState::unusable);
}

// az printed Batch AI's names and sinfo prints Slurm's; both go out as text.
TEST(ClusterNodes, StatesHaveTheirPrintedNamesBothWays) {
  for (NodeState s : {NodeState::idle, NodeState::running, NodeState::preparing, NodeState::leaving,
                      NodeState::unusable}) {
    EXPECT_EQ(parse_node_state(to_string(s)), s) << to_string(s);
  }
  EXPECT_STREQ(to_string(NodeState::preparing), "preparing");
  EXPECT_EQ(parse_node_state("IDLE"), std::nullopt) << "Slurm's spelling is not Batch AI's";
  using S = slurm::NodeState;
  for (S s : {S::idle, S::allocated, S::mixed, S::down, S::future, S::error, S::unknown}) {
    EXPECT_EQ(slurm::parse_node_state(slurm::to_string(s)), s) << slurm::to_string(s);
  }
  EXPECT_STREQ(slurm::to_string(S::allocated), "ALLOCATED");
  EXPECT_EQ(slurm::parse_node_state("idle"), std::nullopt);
}

TEST(ClusterNodes, AClusterIsTheFirstNodesOfItsPartitionUpToItsSize) {
  std::vector<slurm::NodeInfo> all = {node("node10", "IDLE"), node("node2", "ALLOCATED"), node("node1", "IDLE"),
                                      node("gpu1", "IDLE", "gpu")};
  state::Cluster c;
  c.key = {"rg", "ws", "c"};
  c.partition = "batch";
  c.vm_size = "STANDARD_NC6";
  c.target_nodes = 2;
  auto nodes = cluster_nodes(c, all);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0].name, "node1");
  EXPECT_EQ(nodes[1].name, "node2");
  auto json = cluster_to_json(c, nodes);
  EXPECT_EQ(json.at("currentNodeCount"), 2);
  EXPECT_EQ(json.at("nodeStateCounts").at("idleNodeCount"), 1);
  EXPECT_EQ(json.at("nodeStateCounts").at("runningNodeCount"), 1);
  EXPECT_EQ(json.at("scaleSettings").at("manual").at("targetNodeCount"), 2);
  EXPECT_EQ(json.at("id"),
            "/subscriptions/local/resourceGroups/rg/providers/Microsoft.BatchAI/workspaces/ws/clusters/c");
  c.target_nodes = 0;
  EXPECT_TRUE(cluster_nodes(c, all).empty());
  c.auto_scale = true;
  c.min_nodes = 0;
  c.max_nodes = 5;
  EXPECT_EQ(cluster_nodes(c, all).size(), 3u);
}

}  // namespace
}  // namespace batchai::frontend
