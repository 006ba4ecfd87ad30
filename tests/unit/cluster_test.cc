// Cluster bindings: Slurm node states onto Batch AI's five counts, and the
// cluster's share of its partition.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "frontend/commands/cluster_common.h"

namespace batchai::frontend {
namespace {

slurm::NodeInfo node(std::string name, std::string state, std::string partition = "batch") {
  slurm::NodeInfo n;
  n.name = std::move(name);
  n.state = std::move(state);
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
  EXPECT_EQ(batchai_node_state(node("x", "IDLE")), "idle");
  EXPECT_EQ(batchai_node_state(node("x", "ALLOCATED")), "running");
  EXPECT_EQ(batchai_node_state(node("x", "MIXED")), "running");
  EXPECT_EQ(batchai_node_state(booting), "preparing");
  EXPECT_EQ(batchai_node_state(in_prolog), "preparing");
  EXPECT_EQ(batchai_node_state(draining), "leaving");
  EXPECT_EQ(batchai_node_state(completing), "leaving");
  EXPECT_EQ(batchai_node_state(drained), "unusable");
  EXPECT_EQ(batchai_node_state(node("x", "DOWN")), "unusable");
  EXPECT_EQ(batchai_node_state(silent), "unusable");
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
